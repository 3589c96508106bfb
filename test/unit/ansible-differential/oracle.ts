import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Case } from './generate.ts';

/** A host list, or Ansible's error (a subscript past the end). */
export type Hosts = string[] | { error: string };

/** What ansible-core says an inventory means (oracle.py). */
export interface Answer {
  patterns: Record<string, Hosts>;
  /** Per pattern (and --limit): whether one of its terms matches nothing, which Ansible skips with a warning. */
  empty: Record<string, boolean>;
  limited: Hosts[];
  groups: Record<string, string[]>;
  vars: Record<string, Record<string, unknown>>;
}

/** The Python Ansible runs on: the one its own command names. */
export function ansiblePython(): string {
  const which = spawnSync('sh', ['-c', 'command -v ansible-inventory'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('ansible-inventory is not installed: scripts/setup installs ansible-core');
  const shebang = readFileSync(which, 'utf8').split('\n')[0] ?? '';
  return /^#!\s*(\S+)/.exec(shebang)?.[1] ?? 'python3';
}

/** ansible-core's answers for many cases, from one Python process (importing Ansible takes a second). */
export function askAnsible(cases: Case[]): Answer[] {
  const r = spawnSync(ansiblePython(), [join(import.meta.dirname, 'oracle.py')], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' },
  });
  if (r.status !== 0) throw new Error(`the Ansible oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer[];
}
