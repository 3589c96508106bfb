import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pruneUnusedBuilds } from './cache-prune.ts';
import { machineMirror, withLock } from './image.ts';
import { imageCacheDir } from './paths.ts';
import { sh } from './run.ts';

/**
 * What stands in for FRR's container image (quay.io/frrouting/frr), which MetalLB's FRR mode runs
 * beside its speaker: no image can be downloaded here, so Debian's FRR is installed into a root
 * file system of its own, built once into the machine's cache and bound read-only into every host.
 * Debian trixie's FRR (10.3) is the nearest to the 10.5 MetalLB's manifest names. The same root
 * is the userland of the lab's other images (agnhost's, see cmd/kube/images.go) and holds the nft
 * K3s bundles for kube-proxy (nftables 1.1.1 in K3s, 1.1.3 here; see cmd/k3s/proxy.go).
 */
export const FRR_IMAGE_MOUNT = '/opt/play-lab/images/frr';

const SUITE = 'trixie';
const PACKAGES = ['frr', 'frr-pythontools', 'tini', 'nftables'];
/**
 * FRR's own image starts the daemons this way (docker/alpine/docker-start): watchfrr in the
 * foreground starts and watches those /etc/frr/daemons enables.
 */
const DOCKER_START = `#!/bin/bash
set -e
chown -R frr:frr /etc/frr || true
source /usr/lib/frr/frrcommon.sh
/usr/lib/frr/watchfrr $(daemon_list)
`;
/** FRR's image (Alpine's package) has frr as uid 100, gid 101; MetalLB's manifest runs as them. */
const FRR_UID = 100;
const FRR_GID = 101;
/** Bump when the steps below change in a way the constants do not show. */
const RECIPE_VERSION = 1;

export interface FrrImage {
  root: string;
}

export async function ensureFrrImage(log: (msg: string) => void): Promise<FrrImage> {
  const mirror = machineMirror();
  const key = createHash('sha256')
    .update(JSON.stringify({ RECIPE_VERSION, SUITE, PACKAGES, DOCKER_START, FRR_UID, FRR_GID, mirror }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(imageCacheDir, 'images', `frr-${SUITE}-${key}`);
  if (!existsSync(join(dir, '.complete'))) {
    await withLock(
      `${dir}.lock`,
      log,
      async () => {
        if (!existsSync(join(dir, '.complete'))) await build(dir, mirror, log);
      },
      "FRR's image",
    );
    await pruneUnusedBuilds(dirname(dir), `frr-${SUITE}-`, basename(dir), log);
  }
  return { root: join(dir, 'rootfs') };
}

async function build(dir: string, mirror: string, log: (msg: string) => void): Promise<void> {
  log(`building FRR's image from Debian ${SUITE} (${mirror}; cached for later runs; about 1 min)`);
  const work = `${dir}.build`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const root = join(work, 'rootfs');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
  const chroot = (...argv: string[]) => sh({ env })`chroot ${root} ${argv}`;
  try {
    // Packages go in after debootstrap: its --include cannot order trixie's systemd dependencies.
    await sh`debootstrap --variant=minbase ${SUITE} ${root} ${mirror}`;
    await writeFile(join(root, 'etc/resolv.conf'), await sh`cat /etc/resolv.conf`.then((r) => r.stdout));
    await chroot('groupadd', '--system', '--gid', String(FRR_GID), 'frr');
    await chroot(
      'useradd',
      '--system',
      '--uid',
      String(FRR_UID),
      '--gid',
      'frr',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      'frr',
    );
    await chroot('apt-get', 'update', '-qq');
    await chroot('apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...PACKAGES);
    await chroot('apt-get', 'clean');
  } catch (e) {
    const out = (e as { stderr?: string }).stderr ?? String(e);
    throw new Error(
      `building FRR's image from Debian ${SUITE} failed:\n${out.trim().split('\n').slice(-20).join('\n')}`,
      { cause: e },
    );
  }
  await rm(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  await writeFile(join(root, 'etc/resolv.conf'), '');
  await writeFile(join(root, 'usr/lib/frr/docker-start'), DOCKER_START);
  await chmod(join(root, 'usr/lib/frr/docker-start'), 0o755);
  // FRR's image has tini at /sbin/tini; Debian's package puts it in /usr/bin.
  await symlink('/usr/bin/tini', join(root, 'usr/sbin/tini'));
  const version = (await sh`chroot ${root} dpkg-query -W -f=${'${Version}'} frr`).stdout.trim();
  await writeFile(join(root, 'etc/play-lab-image'), `debian-${SUITE}-frr-${version}\n`);
  await writeFile(join(work, '.complete'), '');
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
}
