import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabNames } from './paths.ts';

const LAB_CGROUP = 'play-lab';

/**
 * The hierarchies a host's systemd manages: cgroup v2 and the named v1 `systemd` one, where mounted.
 * Without a cgroup of its own per host, every host's systemd would share one tree, and stopping
 * ssh.service on one host would kill sshd on all of them.
 */
export function systemdHierarchies(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(
      ([, , type, options]) =>
        type === 'cgroup2' || (type === 'cgroup' && (options ?? '').split(',').includes('name=systemd')),
    )
    .map(([, point]) => point!);
}

export function hostCgroups(names: LabNames, host: string): string[] {
  return systemdHierarchies().map((h) => join(h, LAB_CGROUP, `${names.hostPrefix}${host}`));
}

export async function createCgroups(paths: string[]): Promise<void> {
  for (const path of paths) await mkdir(path, { recursive: true });
}

/** Every cgroup of this lab's hosts, found by name. */
export function labCgroups(names: LabNames): string[] {
  return systemdHierarchies().flatMap((h) => {
    const dir = join(h, LAB_CGROUP);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((d) => d.startsWith(names.hostPrefix))
      .map((d) => join(dir, d));
  });
}

/** Pids still in a cgroup or any cgroup below it. */
export function cgroupPids(path: string): number[] {
  const own = readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  return [...own, ...subdirs(path).flatMap(cgroupPids)];
}

/** cgroups go bottom-up with rmdir; their control files vanish with them. */
export async function removeCgroup(path: string): Promise<void> {
  for (const sub of subdirs(path)) await removeCgroup(sub);
  await rmdir(path);
}

function subdirs(path: string): string[] {
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(path, e.name));
}

/** The shared parent goes too once no lab uses it. */
export async function removeLabParentIfEmpty(): Promise<void> {
  for (const h of systemdHierarchies()) {
    const dir = join(h, LAB_CGROUP);
    if (existsSync(dir) && subdirs(dir).length === 0) await rmdir(dir).catch(() => undefined);
  }
}
