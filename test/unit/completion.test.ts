import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { completion } from '../../src/cli/completion.ts';

/** What bash completes for `words` (the last one being typed), in `cwd`, with play's script loaded. */
function complete(words: string[], cwd: string): string[] {
  let script = '';
  completion(['bash'], (s) => (script += s));
  const line = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    ['-c', `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _play; printf '%s\\n' "\${COMPREPLY[@]}"`],
    { cwd, encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('play completion bash', () => {
  const repo = mkdtempSync(join(tmpdir(), 'play-completion-'));
  mkdirSync(join(repo, 'roles/motd'), { recursive: true });
  mkdirSync(join(repo, 'playbooks'));
  writeFileSync(join(repo, 'playbooks/ours.yaml'), '[]\n');
  mkdirSync(join(repo, 'inventory/prod'), { recursive: true });

  it("completes options per subcommand, from play's own option list", () => {
    expect(complete(['play', '--ro'], repo)).toEqual(['--role', '--roles-path']);
    expect(complete(['play', 'kubeconfig', '--o'], repo)).toEqual(['--output']);
    expect(complete(['play', 'doctor', '--ch'], repo)).toEqual([]);
    expect(complete(['play', 'site.yaml', '--become-method', ''], repo)).toEqual(['sudo', 'su']);
  });
  it("offers play's playbooks and roles and the repository's own, once each", () => {
    expect(complete(['play', ''], repo)).toEqual(
      expect.arrayContaining(['site.yaml', 'drain.yaml', 'ours.yaml', 'doctor']),
    );
    expect(complete(['play', 'site.yaml', '--role', ''], repo)).toEqual([
      'firewall',
      'frr-edge',
      'k3s-config',
      'l2-or-bgp',
      'metallb-install',
      'motd',
      'node-maintenance',
      'sysctl',
    ]);
    expect(complete(['play', 'site.yaml', '-i', 'pr'], repo)).toEqual(['prod']);
  });
});
