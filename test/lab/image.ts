import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, readdir, copyFile, chmod } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { mountsUnder } from './mounts.ts';
import { isAlive } from './processes.ts';
import { sh, shMaybe } from './run.ts';
import { imageCacheDir } from './paths.ts';

const SUITE = 'bookworm';

/** What every host boots with: a VDS as rented, systemd and sshd, nothing the roles install. */
export const BASE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'procps',
  'kmod',
  'sudo',
  'iputils-ping',
  // /etc/protocols and /etc/services, as in every Debian image a provider rents out (minbase
  // leaves it out): without it a glibc nft lists a map's protocol as its number ("6" where
  // kube-proxy wrote "tcp"), and a restarted kube-proxy deletes every Service's element as stale.
  'netbase',
  // python3 and python3-apt let Ansible (and its apt module) run for the benchmark's comparison;
  // python3-yaml is left from the Python K3s stand-in (removing it would rebuild every cached image).
  'python3',
  'python3-yaml',
  'python3-apt',
];

/** What the roles install for real with apt-get, served offline from the local repository. */
export const REPO_PACKAGES = ['frr', 'frr-pythontools', 'nftables', 'iputils-arping', 'tcpdump', 'curl'];

/** Bump when the build steps change in a way the package lists do not show. */
const RECIPE_VERSION = 2;

/** Where hosts find the local repository: bound read-only at this path. */
export const REPO_MOUNT = '/srv/debs';

export interface Image {
  key: string;
  rootfs: string;
  repo: string;
}

export function imageKey(mirror: string): string {
  const recipe = { RECIPE_VERSION, SUITE, mirror, BASE_PACKAGES, REPO_PACKAGES };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}

/** Debian's mirror as this machine's apt knows it, so the lab follows the machine's own setup. */
export function machineMirror(): string {
  const files = [
    '/etc/apt/sources.list',
    ...listDir('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)),
  ];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const deb822 = /^URIs:\s*(\S*\/debian)\/?\s*$/m.exec(text);
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S*\/debian)\/?\s+bookworm\s/m.exec(text);
    const uri = deb822?.[1] ?? oneLine?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Returns the cached image for the current recipe, building it first when the cache lacks it. */
export async function ensureImage(log: (msg: string) => void): Promise<Image> {
  const mirror = machineMirror();
  const key = imageKey(mirror);
  const dir = join(imageCacheDir, 'images', key);
  const image = { key, rootfs: join(dir, 'rootfs'), repo: join(dir, 'debs') };
  if (existsSync(join(dir, '.complete'))) return image;
  await withLock(`${dir}.lock`, log, async () => {
    // Another lab:up may have built it while this one waited for the lock.
    if (!existsSync(join(dir, '.complete'))) await buildImage(dir, mirror, log);
  });
  return image;
}

async function buildImage(dir: string, mirror: string, log: (msg: string) => void): Promise<void> {
  log(`building base image ${basename(dir)} from ${mirror} (cached for later runs)`);
  const work = `${dir}.build`;
  // A build killed half-way may have left its repository bound into the chroot.
  for (const point of mountsUnder(work)) await shMaybe`umount -l ${point}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const rootfs = join(work, 'rootfs');
  await sh`debootstrap --variant=minbase --include=${BASE_PACKAGES.join(',')} ${SUITE} ${rootfs} ${mirror}`;
  await buildRepo(rootfs, join(work, 'debs'), mirror);
  await pointAptAtRepo(rootfs, join(work, 'debs'));
  await makeGeneric(rootfs);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  await writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify({ mirror, suite: SUITE, BASE_PACKAGES, REPO_PACKAGES }, null, 2),
  );
  await writeFile(join(dir, '.complete'), '');
}

/** One builder per image: a second lab:up (the tests beside a demo) waits instead of racing it. */
/** Runs body holding a lock file; a lock whose holder died is taken over. */
export async function withLock(
  lock: string,
  log: (msg: string) => void,
  body: () => Promise<void>,
  what = 'the base image',
): Promise<void> {
  await mkdir(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(lock);
      if (holder === 'gone') continue;
      const stale = holder.pid ? !isAlive(holder.pid) : Date.now() - holder.since > 10_000;
      if (stale) {
        await rm(lock, { force: true });
        continue;
      }
      if (!told) log(`waiting for process ${holder.pid} to finish building ${what}`);
      told = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    await body();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Who holds the lock; 'gone' when the holder released it between our attempt and this look. */
function lockHolder(lock: string): { pid: number; since: number } | 'gone' {
  try {
    return { pid: Number(readFileSync(lock, 'utf8') || 0), since: statSync(lock).mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
}

/** apt in a chroot of the image fetches exactly the closure the image lacks. */
async function buildRepo(rootfs: string, repo: string, mirror: string): Promise<void> {
  await writeFile(join(rootfs, 'etc/apt/sources.list'), `deb ${mirror} ${SUITE} main\n`);
  await copyFile('/etc/resolv.conf', join(rootfs, 'etc/resolv.conf'));
  await chroot(rootfs, ['apt-get', 'update', '-qq']);
  await chroot(rootfs, ['apt-get', 'install', '-y', '-qq', '--download-only', ...REPO_PACKAGES]);
  await mkdir(repo);
  const archives = join(rootfs, 'var/cache/apt/archives');
  for (const deb of (await readdir(archives)).filter((f) => f.endsWith('.deb'))) {
    await rename(join(archives, deb), join(repo, deb));
  }
  const index = await sh({ cwd: repo })`dpkg-scanpackages --multiversion .`;
  await writeFile(join(repo, 'Packages'), index.stdout);
}

/** Hosts see only the local repository; their package lists are fresh so `apt-get install` works at once. */
async function pointAptAtRepo(rootfs: string, repo: string): Promise<void> {
  await writeFile(join(rootfs, 'etc/apt/sources.list'), `deb [trusted=yes] file:${REPO_MOUNT} ./\n`);
  await rm(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
  await mkdir(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
  const target = join(rootfs, REPO_MOUNT);
  await mkdir(target, { recursive: true });
  await sh`mount --bind -o ro ${repo} ${target}`;
  try {
    await chroot(rootfs, ['apt-get', 'update', '-qq']);
  } finally {
    await shMaybe`umount ${target}`;
  }
  await chroot(rootfs, ['apt-get', 'clean']);
}

/** Per-host identity (host keys, machine-id, hostname) is made at boot, never shared through the image. */
async function makeGeneric(rootfs: string): Promise<void> {
  const sshDir = join(rootfs, 'etc/ssh');
  for (const key of (await readdir(sshDir)).filter((f) => f.startsWith('ssh_host_'))) {
    await rm(join(sshDir, key));
  }
  await writeFile(join(rootfs, 'etc/machine-id'), '');
  await writeFile(join(rootfs, 'etc/resolv.conf'), '');
  await writeFile(join(rootfs, 'etc/hostname'), 'localhost\n');
  await mkdir(join(rootfs, 'root/.ssh'), { recursive: true });
  await chmod(join(rootfs, 'root/.ssh'), 0o700);
  await keepJournalInMemory(rootfs);
}

/**
 * The journal lives in /run, so a host's writable layer holds only what was done to the host:
 * every SSH login would otherwise write the on-disk journal, and "check mode wrote nothing"
 * could not be tested byte for byte.
 */
async function keepJournalInMemory(rootfs: string): Promise<void> {
  await mkdir(join(rootfs, 'etc/systemd/journald.conf.d'), { recursive: true });
  await writeFile(join(rootfs, 'etc/systemd/journald.conf.d/lab.conf'), '[Journal]\nStorage=volatile\n');
  await rm(join(rootfs, 'var/log/journal'), { recursive: true, force: true });
}

async function chroot(rootfs: string, argv: string[]): Promise<void> {
  await sh({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' } })`chroot ${rootfs} ${argv}`;
}
