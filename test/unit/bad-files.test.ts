import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countingHosts } from './counting-hosts.ts';
import { connectionPlan } from '../../src/engine/compile.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';

const root = join(import.meta.dirname, '../..');

const { inventoryWith, play, connections } = countingHosts();

const CASES: [string, (dir: string) => void, string[], RegExp][] = [
  [
    'a group_vars file that is a symbolic link loop',
    (d) => symlinkSync('k3s_agent.yaml', join(d, 'group_vars/k3s_agent.yaml')),
    [],
    /group_vars\/k3s_agent\.yaml: cannot read: a symbolic link loop/,
  ],
  [
    'a dangling symbolic link in group_vars',
    (d) => symlinkSync('/nonexistent/vars.yaml', join(d, 'group_vars/edge.yaml')),
    [],
    /group_vars\/edge\.yaml: cannot read: it does not exist \(a dangling symbolic link\?\)/,
  ],
  [
    'a YAML alias bomb',
    (d) =>
      writeFileSync(
        join(d, 'group_vars/edge.yaml'),
        `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from(
          { length: 8 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
              .fill(`*${String.fromCharCode(97 + i)}`)
              .join(',')}]`,
        ).join('\n')}\n`,
      ),
    [],
    /group_vars\/edge\.yaml: invalid YAML: Excessive alias count/,
  ],
  [
    'a file that is not UTF-8',
    (d) =>
      writeFileSync(join(d, 'group_vars/edge.yaml'), Buffer.from([0x66, 0x72, 0x72, 0x3a, 0x20, 0xff, 0xfe, 0x0a])),
    [],
    /group_vars\/edge\.yaml: not UTF-8 text/,
  ],
  [
    'a file with a NUL byte',
    (d) => writeFileSync(join(d, 'group_vars/edge.yaml'), 'a: 1\nb: "x\u0000y"\n'),
    [],
    /group_vars\/edge\.yaml:2: holds a NUL byte/,
  ],
  [
    'a file larger than any input',
    (d) => writeFileSync(join(d, 'group_vars/edge.yaml'), `a: "${'x'.repeat(5 * 1024 * 1024)}"\n`),
    [],
    /group_vars\/edge\.yaml: larger than 4 MiB/,
  ],
  [
    'an invalid regular expression in --limit',
    () => undefined,
    ['--limit', '~('],
    /--limit: invalid regular expression "~\(": /,
  ],
  [
    'an unwritable --json path',
    () => undefined,
    ['--json', '/nonexistent-dir/report.json'],
    /--json: cannot write the report to \/nonexistent-dir\/report\.json: its directory does not exist/,
  ],
];

describe('bad files and arguments are input errors (exit 6) with the file, and no host is contacted', () => {
  it('the listener counts: good input does reach every host (unreachable there, exit 4)', async () => {
    const before = connections();
    const r = await play(['-i', inventoryWith(() => undefined), '--limit', 'cp1']);
    expect(r.code, r.stderr).toBe(4);
    expect(connections() - before).toBeGreaterThan(0);
  });

  it.each(CASES)('%s', async (_what, prepare, args, message) => {
    const before = connections();
    const r = await play(['-i', inventoryWith(prepare), ...args]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/nothing was run on any host/);
    expect(r.stderr).toMatch(message);
    expect(connections() - before).toBe(0);
  });

  it('a pool CIDR with host bits set is refused, naming the network meant', async () => {
    const r = await play([
      '-i',
      inventoryWith(() => undefined),
      '-e',
      '{"metallb_pools": [{"name": "p", "addresses": ["198.51.100.130/27"]}]}',
      '--syntax-check',
    ]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(
      /metallb_pools\[0\]\.addresses\[0\]: 198\.51\.100\.130\/27 has host bits set: the network is 198\.51\.100\.128\/27/,
    );
  });

  it('YAML merge keys (<<) work as in Ansible instead of becoming a variable named <<', () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-merge-'));
    writeFileSync(
      join(dir, 'hosts.yaml'),
      [
        'all:',
        '  vars:',
        '    edge_defaults: &edge_defaults { ansible_port: 2200, ansible_user: deploy }',
        '  children:',
        '    edge:',
        '      hosts:',
        '        edge: { <<: *edge_defaults, ansible_host: 192.0.2.1 }',
        '',
      ].join('\n'),
    );
    const playbook = loadPlaybook(join(root, 'playbooks/site.yaml'));
    const vars = connectionPlan(playbook, loadInventory(dir), { extraVars: [] }).get('edge');
    expect(vars).toMatchObject({ ansible_port: 2200, ansible_user: 'deploy', ansible_host: '192.0.2.1' });
    expect(vars).not.toHaveProperty('<<');
  });
});
