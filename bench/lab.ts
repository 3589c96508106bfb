// The benchmark's lab: the default topology (edge, cp1, agents) scaled to N hosts, booted or
// reused, and reset to fresh hosts before each first apply.
import { labNames, type LabNames } from '../test/lab/paths.ts';
import { defaultTimeoutMs, up } from '../test/lab/lab.ts';
import { defaultTopology } from '../test/lab/topology.ts';
import { labStatus } from '../test/lab/status.ts';
import { resetHosts } from '../test/lab/reset.ts';
import { requireLabMachine } from '../test/lab/preflight.ts';

export interface BenchLab {
  names: LabNames;
  hosts: { name: string; address: string }[];
}

/** N hosts: the edge router, one K3s server and N-2 agents. */
export async function ensureLab(lab: string, hostCount: number, log: (msg: string) => void): Promise<BenchLab> {
  if (hostCount < 3) throw new Error(`--hosts ${hostCount}: the cluster needs at least 3 hosts (edge, server, agent)`);
  requireLabMachine();
  const names = labNames(lab);
  const topology = defaultTopology(hostCount - 2);
  const status = await labStatus(names);
  const same =
    status.up &&
    status.hosts.length === hostCount &&
    topology.hosts.every((h) => status.hosts.some((s) => s.name === h.name && s.address === h.address));
  if (same) log(`reusing lab ${lab} (${hostCount} hosts)`);
  else {
    log(`booting lab ${lab} with ${hostCount} hosts`);
    await up(names, { topology, timeoutMs: defaultTimeoutMs(hostCount), log });
  }
  return { names, hosts: topology.hosts.map(({ name, address }) => ({ name, address })) };
}

export async function resetLab(lab: BenchLab, log: (msg: string) => void): Promise<void> {
  await resetHosts(
    lab.names,
    lab.hosts.map((h) => h.name),
    log,
  );
}
