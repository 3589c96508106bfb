import { stripVTControlCharacters } from 'node:util';
import { readFile } from 'node:fs/promises';
import { labSsh } from './lab-ssh.ts';
import { isAlive } from './processes.ts';
import type { LabNames } from './paths.ts';
import type { HostState } from './state.ts';

const CONSOLE_TAIL_LINES = 25;

export class HostNotReady extends Error {}

/**
 * Resolves when every host answers SSH and its systemd has finished booting. A `degraded` host
 * counts as ready, with its failed units reported, since a VDS in that state is still usable.
 */
export async function waitForHosts(
  names: LabNames,
  hosts: HostState[],
  timeoutMs: number,
  log: (msg: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const results = await Promise.allSettled(hosts.map((h) => waitForHost(names, h, deadline, log)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length > 0) throw new HostNotReady(failures.join('\n\n'));
}

async function waitForHost(
  names: LabNames,
  host: HostState,
  deadline: number,
  log: (msg: string) => void,
): Promise<void> {
  let last = 'no answer on SSH yet';
  while (Date.now() < deadline) {
    if (!isAlive(host.pid)) return fail(host, 'its systemd-nspawn exited during boot');
    const wait = Math.max(1, Math.min(10, Math.floor((deadline - Date.now()) / 1000)));
    // --wait blocks until boot finishes; `timeout` bounds it so the deadline is kept.
    const r = await labSsh(
      names,
      host.address,
      `timeout ${wait} systemctl is-system-running --wait`,
      (wait + 5) * 1000,
    );
    const status = r.stdout.trim();
    if (status === 'running') return;
    if (status === 'degraded') {
      const failed = await labSsh(names, host.address, 'systemctl --failed --no-legend --plain');
      log(`${host.name}: degraded: ${failed.stdout.trim() || 'no failed unit listed'}`);
      return;
    }
    last = status ? `systemd is ${status}` : `ssh: ${r.stderr.trim().split('\n').pop() ?? 'no answer'}`;
    if (!status) await new Promise((r) => setTimeout(r, 500));
  }
  return fail(host, `not ready before the timeout (${last})`);
}

async function fail(host: HostState, why: string): Promise<never> {
  const tail = await consoleTail(host.consoleLog);
  throw new HostNotReady(
    `host ${host.name} (${host.address}): ${why}\n--- last lines of ${host.consoleLog} ---\n${tail}`,
  );
}

export async function consoleTail(file: string, lines = CONSOLE_TAIL_LINES): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return stripVTControlCharacters(text).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console log)';
  }
}
