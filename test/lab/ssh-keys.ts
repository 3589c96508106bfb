import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from './run.ts';
import { knownHostsPath, labKeyPath, type LabNames } from './paths.ts';
import type { HostSpec } from './topology.ts';

/** The lab's root login key; kept across `lab:up`s so a user's ssh agent or config stays valid. */
export async function ensureLabKey(names: LabNames): Promise<string> {
  const key = labKeyPath(names);
  if (!existsSync(key)) await sh`ssh-keygen -q -t ed25519 -N ${''} -C ${`play-${names.lab}`} -f ${key}`;
  return readFile(`${key}.pub`, 'utf8');
}

/** A fresh host key per boot, written into the host's own layer; returns its public half. */
export async function makeHostKey(rootfs: string, host: string): Promise<string> {
  const key = join(rootfs, 'etc/ssh/ssh_host_ed25519_key');
  await sh`ssh-keygen -q -t ed25519 -N ${''} -C ${`root@${host}`} -f ${key}`;
  const [type, blob] = (await readFile(`${key}.pub`, 'utf8')).trim().split(' ');
  return `${type} ${blob}`;
}

/** Strict host key checking stays on in the lab: the engine is tested the way users run it. */
export async function writeKnownHosts(
  names: LabNames,
  hosts: HostSpec[],
  publicKeys: Map<string, string>,
): Promise<void> {
  const lines = hosts.map((h) => `${h.name},${h.address} ${publicKeys.get(h.name)}`);
  await writeFile(knownHostsPath(names), `${lines.join('\n')}\n`);
}

export function sshConfig(names: LabNames): string {
  return [
    'Host *',
    '  User root',
    `  IdentityFile ${labKeyPath(names)}`,
    `  UserKnownHostsFile ${knownHostsPath(names)}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  ConnectTimeout 5',
    '',
  ].join('\n');
}
