import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionPlan } from '../../src/engine/compile.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';

const root = join(import.meta.dirname, '../..');

/** A TCP listener standing in for every host: it counts connections and never answers. */
let server: Server;
let port = 0;
let connections = 0;
beforeAll(async () => {
  server = createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => void server.close());

/** example-bgp with every host at the counting listener, then changed by `prepare`. */
function inventoryWith(prepare: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'play-bad-'));
  cpSync(join(root, 'inventory/example-bgp'), dir, { recursive: true });
  const vars = join(dir, 'group_vars/all.yaml');
  writeFileSync(vars, `${readFileSync(vars, 'utf8')}\nansible_host: 127.0.0.1\nansible_port: ${port}\n`);
  prepare(dir);
  return dir;
}

function play(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin/play.mjs'), 'site.yaml', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr };
}

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
  it.each(CASES)('%s', (_what, prepare, args, message) => {
    const before = connections;
    const r = play(['-i', inventoryWith(prepare), ...args]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/nothing was run on any host/);
    expect(r.stderr).toMatch(message);
    expect(connections - before).toBe(0);
  });

  it('a pool CIDR with host bits set is refused, naming the network meant', () => {
    const r = play([
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
