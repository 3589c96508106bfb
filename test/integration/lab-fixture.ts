import { describe, inject } from 'vitest';
import { labNames, type LabNames } from '../lab/paths.ts';
import { readState, type HostState, type LabState } from '../lab/state.ts';
import { labSsh, type CommandResult } from '../lab/lab-ssh.ts';
import { resetHosts } from '../lab/reset.ts';
import { NFT } from '../../src/resources/nft-command.ts';

const provided = inject('lab');

/** A describe that runs only where the lab booted; where it could not, the skip names the reason. */
export const describeLab = (title: string, body: () => void): void => {
  if ('unavailable' in provided) describe.skip(`${title} [SKIPPED: ${provided.unavailable}]`, body);
  else describe(title, body);
};

export function lab(): { names: LabNames; state: LabState; host: (name: string) => HostState } {
  if ('unavailable' in provided) throw new Error(`no lab: ${provided.unavailable}`);
  const names = labNames(provided.name);
  const state = readState(names);
  if (!state) throw new Error(`lab ${provided.name} has no state.json`);
  const host = (name: string): HostState => {
    const found = state.hosts.find((h) => h.name === name);
    if (!found) throw new Error(`no host ${name} in lab ${provided.name}`);
    return found;
  };
  return { names, state, host };
}

/** Runs a command on a lab host over SSH and returns its result, whatever the exit code. */
export async function onHost(host: string, command: string, timeoutMs?: number): Promise<CommandResult> {
  const { names, host: find } = lab();
  return labSsh(names, find(host).address, command, timeoutMs);
}

/** Like onHost, but a non-zero exit fails with the command's stderr. */
export async function onHostOk(host: string, command: string, timeoutMs?: number): Promise<string> {
  const r = await onHost(host, command, timeoutMs);
  if (r.exitCode !== 0) throw new Error(`${host}: \`${command}\` exited ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Test files share the lab's hosts: a file that needs hosts as just rented gives them a fresh
 * writable layer first (about 5 s), whatever earlier files did to them.
 */
export async function freshHosts(...hosts: string[]): Promise<void> {
  const { names, state } = lab();
  await resetHosts(names, hosts.length > 0 ? hosts : state.hosts.map((h) => h.name), () => undefined);
}

/** Other test files share the lab's hosts: a file that ran site.yaml takes its firewall down again. */
export async function removeFirewall(...hosts: string[]): Promise<void> {
  await Promise.all(
    hosts.map((h) => onHost(h, `systemctl disable play-firewall; ${NFT} delete table inet play_firewall`)),
  );
}

/** Polls `probe` until `ok` holds; fails with the last value seen, so the failure says how far it got. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let last = await probe();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
    last = await probe();
  }
  if (!ok(last)) throw new Error(`${what}: ${JSON.stringify(last).slice(0, 2000)}`);
  return last;
}
