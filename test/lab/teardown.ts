import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { shMaybe } from './run.ts';
import { statePath, type LabNames } from './paths.ts';
import { deleteNamespace, labNamespaces, namespacePids, removeControllerEtc } from './network.ts';
import { findProcesses, signal, waitForExit } from './processes.ts';
import { mountsUnder } from './mounts.ts';
import { cgroupPids, labCgroups, removeCgroup, removeLabParentIfEmpty } from './cgroups.ts';

/** nspawn powers a host off cleanly on SIGTERM in about 3 s; a hung one gets SIGKILL after this. */
const POWEROFF_GRACE_MS = 15_000;

export interface TeardownReport {
  hostsStopped: number;
  killed: number;
  unmounted: number;
  namespacesDeleted: number;
}

/**
 * Removes every trace of the lab, found by name on the live system rather than from state.json,
 * so a half-booted or crashed lab, or one whose state was lost, goes just as cleanly. Idempotent.
 */
export async function teardown(names: LabNames): Promise<TeardownReport> {
  const nspawns = findProcesses(['systemd-nspawn', `--machine=${names.hostPrefix}`]);
  signal(nspawns, 'SIGTERM');
  let killed = await kill(await waitForExit(nspawns, POWEROFF_GRACE_MS));

  for (const cgroup of labCgroups(names)) {
    // A host's processes all live in its cgroup: none can outlive its nspawn unnoticed.
    killed += await kill(cgroupPids(cgroup));
    await removeCgroup(cgroup);
  }
  await removeLabParentIfEmpty();

  const namespaces = await labNamespaces(names);
  for (const ns of namespaces) {
    // Whatever still runs in a lab namespace (an ssh from lab:exec, a stray test) would pin it.
    killed += await kill(await namespacePids(ns));
    await deleteNamespace(ns);
  }

  const mounts = mountsUnder(join(names.dir, 'hosts'));
  for (const point of mounts) {
    const result = await shMaybe`umount ${point}`;
    if (result.exitCode !== 0) await shMaybe`umount -l ${point}`;
  }
  const stuck = mountsUnder(join(names.dir, 'hosts'));
  // Removing the layers through a live mount would delete inside a host: stop here instead.
  if (stuck.length > 0) throw new Error(`could not unmount ${stuck.join(', ')}`);

  await removeControllerEtc(names);
  await rm(join(names.dir, 'hosts'), { recursive: true, force: true });
  await rm(statePath(names), { force: true });
  await rm(names.inventoryDir, { recursive: true, force: true });
  return { hostsStopped: nspawns.length, killed, unmounted: mounts.length, namespacesDeleted: namespaces.length };
}

/** SIGKILL, then wait for the processes to be gone; returns how many there were. */
async function kill(pids: number[]): Promise<number> {
  signal(pids, 'SIGKILL');
  await waitForExit(pids, 5_000);
  return pids.length;
}

/** What of the lab is still on the machine; empty when teardown was complete. */
export async function leftovers(names: LabNames): Promise<string[]> {
  return [
    ...findProcesses(['systemd-nspawn', `--machine=${names.hostPrefix}`]).map(
      (pid) => `process ${pid} (systemd-nspawn)`,
    ),
    ...(await labNamespaces(names)).map((ns) => `network namespace ${ns}`),
    ...mountsUnder(join(names.dir, 'hosts')).map((m) => `mount ${m}`),
    ...labCgroups(names).map((c) => `cgroup ${c}`),
  ];
}
