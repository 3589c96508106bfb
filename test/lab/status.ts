import { existsSync } from 'node:fs';
import { labSsh } from './lab-ssh.ts';
import { isAlive, readCmdline } from './processes.ts';
import { readState } from './state.ts';
import { leftovers } from './teardown.ts';
import type { LabNames } from './paths.ts';

export interface HostStatus {
  name: string;
  address: string;
  groups: string[];
  /** The host's systemd-nspawn is alive. */
  booted: boolean;
  /** `systemctl is-system-running` over SSH, or why it could not be asked. */
  systemd: string;
}

export interface LabStatus {
  lab: string;
  up: boolean;
  controller?: string;
  hosts: HostStatus[];
  /** Pieces found on the machine that no state.json accounts for. */
  leftovers: string[];
}

export async function labStatus(names: LabNames): Promise<LabStatus> {
  const state = readState(names);
  if (!state) return { lab: names.lab, up: false, hosts: [], leftovers: await leftovers(names) };
  const controllerUp = existsSync(`/run/netns/${state.controller.namespace}`);
  const hosts = await Promise.all(
    state.hosts.map(async (h): Promise<HostStatus> => {
      const booted = isAlive(h.pid) && readCmdline(h.pid)[0]?.endsWith('systemd-nspawn') === true;
      const systemd = booted && controllerUp ? await askSystemd(names, h.address) : 'not running';
      return { name: h.name, address: h.address, groups: h.groups, booted, systemd };
    }),
  );
  return {
    lab: names.lab,
    up: controllerUp && hosts.every((h) => h.booted),
    controller: state.controller.namespace,
    hosts,
    leftovers: [],
  };
}

async function askSystemd(names: LabNames, address: string): Promise<string> {
  const r = await labSsh(names, address, 'systemctl is-system-running', 10_000);
  return r.stdout.trim() || `no SSH answer (${r.stderr.trim().split('\n').pop() ?? 'exit ' + r.exitCode})`;
}

export function formatStatus(s: LabStatus): string {
  if (s.hosts.length === 0) {
    const extra =
      s.leftovers.length > 0
        ? `\nleftovers on the machine (npm run lab:down removes them):\n  ${s.leftovers.join('\n  ')}`
        : '';
    return `lab ${s.lab}: not running${extra}`;
  }
  const rows = s.hosts.map(
    (h) =>
      `  ${h.name.padEnd(8)} ${h.address.padEnd(15)} ${h.groups.join(',').padEnd(14)} ${h.booted ? 'booted' : 'DOWN  '}  ${h.systemd}`,
  );
  return [`lab ${s.lab}: ${s.up ? 'up' : 'PARTLY DOWN'} (controller namespace ${s.controller})`, ...rows].join('\n');
}
