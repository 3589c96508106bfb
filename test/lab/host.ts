import { spawn } from 'node:child_process';
import { mkdir, writeFile, chmod, open } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from './run.ts';
import { hostNamespace, hostPaths, type LabNames } from './paths.ts';
import { makeHostKey } from './ssh-keys.ts';
import { REPO_MOUNT, type Image } from './image.ts';
import { hostsFile } from './network.ts';
import { createCgroups, hostCgroups } from './cgroups.ts';
import type { HostSpec, Topology } from './topology.ts';
import { COMPONENTS_MOUNT, type Components } from './components.ts';
import { FRR_IMAGE_MOUNT, type FrrImage } from './frr-image.ts';

/**
 * Mounts the host's writable layer over the shared image and gives it its identity.
 * Returns the host's public SSH host key.
 */
export async function prepareHost(
  names: LabNames,
  image: Image,
  topology: Topology,
  host: HostSpec,
  labPublicKey: string,
): Promise<string> {
  const p = hostPaths(names, host.name);
  await Promise.all([p.upper, p.work, p.root].map((d) => mkdir(d, { recursive: true })));
  await sh`mount -t overlay overlay -o ${`lowerdir=${image.rootfs},upperdir=${p.upper},workdir=${p.work}`} ${p.root}`;
  await writeFile(join(p.root, 'etc/hostname'), `${host.name}\n`);
  await writeFile(join(p.root, 'etc/hosts'), hostsFile(topology));
  await writeFile(join(p.root, 'root/.ssh/authorized_keys'), labPublicKey);
  await chmod(join(p.root, 'root/.ssh/authorized_keys'), 0o600);
  return makeHostKey(p.root, host.name);
}

/** Boots the host's own systemd in its own network namespace; returns the nspawn pid. */
export async function bootHost(
  names: LabNames,
  image: Image,
  components: Components,
  frrImage: FrrImage,
  host: HostSpec,
): Promise<number> {
  const p = hostPaths(names, host.name);
  const consoleLog = await open(p.console, 'w');
  const ns = hostNamespace(names, host.name);
  const cgroups = hostCgroups(names, host.name);
  await createCgroups(cgroups);
  // The shell joins the host's own cgroups, then becomes nspawn: the pid stays nspawn's.
  const joinCgroups = 'for g in $PLAY_LAB_CGROUPS; do echo $$ > "$g/cgroup.procs"; done; exec systemd-nspawn "$@"';
  const child = spawn(
    'sh',
    [
      '-c',
      joinCgroups,
      'systemd-nspawn',
      '--quiet',
      '--boot',
      '-D',
      p.root,
      `--machine=${ns}`,
      `--hostname=${host.name}`,
      `--network-namespace-path=/run/netns/${ns}`,
      // No systemd runs the machine itself, so there is no bus to register with or unit to move into.
      '--register=no',
      '--keep-unit',
      '--link-journal=no',
      '--capability=CAP_NET_ADMIN,CAP_NET_RAW',
      `--bind-ro=${image.repo}:${REPO_MOUNT}`,
      // The real Kubernetes and MetalLB binaries (components.ts), where the k3s shell looks for them.
      `--bind-ro=${components.dir}:${COMPONENTS_MOUNT}`,
      // What stands in for FRR's image, which MetalLB's FRR mode runs beside the speaker.
      `--bind-ro=${frrImage.root}:${FRR_IMAGE_MOUNT}`,
    ],
    {
      detached: true,
      stdio: ['ignore', consoleLog.fd, consoleLog.fd],
      // Lets the host write its per-namespace net.* sysctls, as on a real VDS.
      env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network', PLAY_LAB_CGROUPS: cgroups.join(' ') },
    },
  );
  child.unref();
  await consoleLog.close();
  if (child.pid === undefined) throw new Error(`${host.name}: systemd-nspawn did not start`);
  return child.pid;
}
