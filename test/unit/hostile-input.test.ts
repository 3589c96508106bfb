import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countingHosts } from './counting-hosts.ts';

// The third hostile-input round: each input a mutation of example-bgp whose hosts all point at a
// listener that counts connections. A refused input names where and what was expected, exits 6
// (5 for the command line), contacts no host, and never shows a value that might be a secret.
const { inventoryWith, play, connections } = countingHosts();

const edit = (file: string, change: (text: string) => string): void =>
  writeFileSync(file, change(readFileSync(file, 'utf8')));
const hostVar = (host: string, text: string) => (d: string) => {
  mkdirSync(join(d, 'host_vars'), { recursive: true });
  writeFileSync(join(d, 'host_vars', `${host}.yaml`), text);
};
const groupVars = (group: string, text: string) => (d: string) =>
  writeFileSync(join(d, 'group_vars', `${group}.yaml`), text);

type Case = [string, (dir: string) => void, string[], number, RegExp];

const CASES: Case[] = [
  // The wrong host: the system resolver reads these as octal or decimal numbers.
  ...['127.000.000.013', '0177.0.0.014', '2130706453', '0x7f000001'].map((address): Case => [
    `ansible_host ${address}, which the resolver reads as another address`,
    hostVar('cp1', `ansible_host: "${address}"\n`),
    [],
    6,
    /host_vars\/cp1\.yaml:1:\d+: ansible_host: expected a host name or an IPv4\/IPv6 address in its usual form/,
  ]),
  [
    'a host whose name is its address, and the name is a number',
    (d) => edit(join(d, 'hosts.yaml'), (t) => t.replace('w2: { ansible_host: 127.0.0.1 }', "'2130706453': {}")),
    [],
    6,
    /host "2130706453" has no ansible_host, so its name is its address, and it is not a host name/,
  ],
  [
    'the same host defined twice with different addresses',
    (d) => appendFileSync(join(d, 'hosts.yaml'), '    spare:\n      hosts:\n        w1: { ansible_host: 127.0.0.2 }\n'),
    [],
    6,
    /hosts\.yaml:18:\d+: ansible_host: host "w1" is already defined with another ansible_host at .*hosts\.yaml:11:/,
  ],
  // Empty selections: a wrapper script's empty variable must not turn a rerun into a full apply.
  [
    '--role with an empty value',
    () => undefined,
    ['--role', ''],
    5,
    /--role expects one or more role names, got an empty value/,
  ],
  [
    '--tags with an empty value',
    () => undefined,
    ['--tags', ' , '],
    5,
    /--tags expects one or more tags, got an empty value/,
  ],
  ['--skip-tags with an empty value', () => undefined, ['--skip-tags', ''], 5, /--skip-tags expects one or more tags/],
  [
    '--role naming no role of the playbook',
    () => undefined,
    ['--role', 'frr-edg'],
    6,
    /--role: unknown role "frr-edg"; roles of .*site\.yaml: .*firewall.* \(did you mean "frr-edge"\?\)/,
  ],
  // Reports: the report is renamed over its path, so only a regular file (or nothing) may be there.
  [
    '--json at a device',
    () => undefined,
    ['--json', '/dev/null'],
    6,
    /--json: cannot write the report to \/dev\/null: it is not a regular file/,
  ],
  [
    '--json at a device, for doctor',
    () => undefined,
    ['--json', '/dev/null'],
    6,
    /--json: cannot write the report to \/dev\/null: it is not a regular file/,
  ],
  [
    '--json under /proc',
    () => undefined,
    ['--json', '/proc/self/report.json'],
    6,
    /--json: cannot write the report to \/proc\/self\/report\.json: a file cannot be created beside it/,
  ],
  // Exhaustion inside the 4 MiB file limit.
  [
    'a group_vars entry that is a link to /dev/zero',
    (d) => symlinkSync('/dev/zero', join(d, 'group_vars/edge.yaml')),
    [],
    6,
    /group_vars\/edge\.yaml: not a regular file \(a device\): play reads only regular files/,
  ],
  [
    'a group_vars entry that is a FIFO (nobody writes to it)',
    (d) => execFileSync('mkfifo', [join(d, 'group_vars/edge.yaml')]),
    [],
    6,
    /group_vars\/edge\.yaml: not a regular file \(a FIFO\)/,
  ],
  [
    'a --limit regular expression that backtracks catastrophically',
    (d) => appendFileSync(join(d, 'hosts.yaml'), `    spare:\n      hosts:\n        ${'a'.repeat(40)}: {}\n`),
    ['--limit', '~^(a+)+$X'],
    6,
    /--limit: unknown host or group "~\^\(a\+\)\+\$X"/,
  ],
  [
    'a list of 130,000 bad entries (a RangeError in compile)',
    groupVars(
      'k3s_agent',
      `firewall_ssh_sources:\n${Array.from({ length: 130_000 }, (_, i) => `  - x${i}\n`).join('')}`,
    ),
    ['--syntax-check'],
    6,
    /firewall_ssh_sources\[19\]: expected an address or a CIDR[^\n]*\n[^\n]*and 129980 more problems in this value, not listed/,
  ],
  [
    'a mapping of 12,000 keys',
    groupVars('k3s_agent', Array.from({ length: 12_000 }, (_, i) => `k${i}: ${i}\n`).join('')),
    ['--syntax-check'],
    6,
    /group_vars\/k3s_agent\.yaml:1:1: more than 10000 keys in one mapping/,
  ],
  // Valid syntax, wrong meaning.
  [
    'a group name with a line break',
    (d) => appendFileSync(join(d, 'hosts.yaml'), '    "bad\\ngroup":\n      hosts: {}\n'),
    [],
    6,
    /all\.children\.bad\ngroup: invalid name|invalid name: expected a string matching/,
  ],
  [
    'a group among its own children',
    (d) => appendFileSync(join(d, 'hosts.yaml'), '    k3s_server:\n      children:\n        k3s_cluster: {}\n'),
    [],
    6,
    /group "k3s_cluster" is a child of "k3s_server", which is already among its own children/,
  ],
  [
    'a Jinja2 expression in a value',
    groupVars('edge', 'frr_router_id: "{{ ansible_default_ipv4.address }}"\n'),
    [],
    6,
    /group_vars\/edge\.yaml:1:\d+: a Jinja2 expression \(\{\{ \}\} or \{% %\}\): play does not template values/,
  ],
  [
    'a Jinja2 expression in -e key=value',
    () => undefined,
    ['-e', 'frr_router_id={{x}}'],
    6,
    /-e #1: frr_router_id: a Jinja2 expression/,
  ],
  [
    'an unknown YAML tag',
    groupVars('edge', 'frr_router_id: !include router-id.yaml\n'),
    [],
    6,
    /group_vars\/edge\.yaml:1:16: unknown YAML tag "!include": play reads Ansible's !vault and !unsafe/,
  ],
  [
    'a MetalLB namespace with shell and newline characters',
    () => undefined,
    // Role variables are checked while the SSH handshakes run (nothing runs on a host): shown with --syntax-check.
    ['-e', '{"metallb_namespace": "x; reboot\\ny"}', '--syntax-check'],
    6,
    /metallb_namespace: expected a Kubernetes name/,
  ],
  // A key file ssh would refuse is the input's fault, not the host's.
  [
    'a private key file others can read',
    (d) => {
      const key = join(d, 'id');
      writeFileSync(key, 'not a key\n');
      chmodSync(key, 0o644);
      appendFileSync(join(d, 'group_vars/all.yaml'), `ansible_ssh_private_key_file: ${key}\n`);
    },
    [],
    6,
    /group_vars\/all\.yaml:\d+:\d+: ansible_ssh_private_key_file: private key file .*\/id is readable by others \(mode 644\)/,
  ],
  [
    'a private key file that does not exist, given with --private-key',
    () => undefined,
    ['--private-key', '/nonexistent/id_ed25519'],
    6,
    /command line \(ansible_ssh_private_key_file\): ansible_ssh_private_key_file: private key file \/nonexistent\/id_ed25519 does not exist/,
  ],
];

describe('hostile input, third round: refused where it is, with no host contacted', () => {
  it.each(CASES)('%s', async (_what, prepare, args, code, message) => {
    const dir = inventoryWith(prepare);
    const before = connections();
    const r = await play(_what.endsWith('for doctor') ? ['doctor', '-i', dir, ...args] : ['-i', dir, ...args]);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(connections() - before).toBe(0);
  });

  it('values that would leak routes or break FRR are refused: pools over the internet, multicast, broadcast; a hold time past 65535 s', async () => {
    const pools = ['::/0', '128.0.0.0/1', '224.0.0.0/24', '255.255.255.255/32', '10.0.0.0/8'];
    const extra = {
      metallb_pools: pools.map((address, i) => ({ name: `p${i}`, addresses: [address] })),
      metallb_bgp_advertisements: [{ name: 'adv', pools: pools.map((_, i) => `p${i}`) }],
      metallb_bgp_peers: [
        { name: 'edge-router', myASN: 65010, peerASN: 65000, peerAddress: '192.0.2.1', holdTime: '70000s' },
      ],
    };
    const r = await play(['-i', inventoryWith(() => undefined), '-e', JSON.stringify(extra), '--syntax-check']);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/metallb_pools\[0\]\.addresses\[0\]: ::\/0 overlaps ::\/127/);
    expect(r.stderr).toMatch(
      /metallb_pools\[0\]\.addresses\[0\]: ::\/0 holds more than 2\^40 addresses; a pool is at most a \/48/,
    );
    expect(r.stderr).toMatch(
      /metallb_pools\[1\]\.addresses\[0\]: 128\.0\.0\.0\/1 overlaps 169\.254\.0\.0\/16, link-local/,
    );
    expect(r.stderr).toMatch(
      /metallb_pools\[1\]\.addresses\[0\]: 128\.0\.0\.0\/1 holds 2147483648 addresses; a pool is at most a \/16/,
    );
    expect(r.stderr).toMatch(
      /metallb_pools\[2\]\.addresses\[0\]: 224\.0\.0\.0\/24 overlaps 224\.0\.0\.0\/4, multicast/,
    );
    expect(r.stderr).toMatch(
      /metallb_pools\[3\]\.addresses\[0\]: 255\.255\.255\.255\/32 overlaps 240\.0\.0\.0\/4, reserved, with the broadcast address/,
    );
    expect(r.stderr).toMatch(/metallb_pools\[4\]\.addresses\[0\]: 10\.0\.0\.0\/8 holds 16777216 addresses/);
    expect(r.stderr).toMatch(/metallb_bgp_peers\[0\]\.holdTime: holdTime 70000s is above 65535s/);
  });

  it("5,000 hosts are checked within a 384 MB heap (every node's ruleset naming every node once took 3.2 GB)", async () => {
    const agents = Array.from({ length: 5_000 }, (_, i) => `a${i}: { ansible_host: 10.0.${i >> 8}.${i & 255} }`);
    // example-bgp's own addresses: the edge's checks need the peer it names.
    const dir = mkdtempSync(join(tmpdir(), 'play-many-'));
    cpSync(join(import.meta.dirname, '../../inventory/example-bgp'), dir, { recursive: true });
    edit(join(dir, 'hosts.yaml'), (t) =>
      t.replace(/^( +)w2: .*$/m, (line, indent: string) => [line, ...agents.map((a) => indent + a)].join('\n')),
    );
    // What is bounded here is memory; the time is in bench/RESULTS.md (a loaded machine is slower).
    const r = await play(['-i', dir, '--syntax-check', '--list-hosts'], {
      NODE_OPTIONS: '--max-old-space-size=384',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/play "K3s agents join" \(5002 hosts\)/);
  }, 90_000);

  it('!unsafe keeps braces as they are, as Ansible means it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-unsafe-'));
    cpSync(join(import.meta.dirname, '../../inventory/example-bgp'), dir, { recursive: true });
    groupVars('k3s_server', 'k3s_extra_config:\n  node-label: [!unsafe "note={{ literally }}"]\n')(dir);
    const r = await play(['-i', dir, '--syntax-check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/syntax OK/);
  });
});

describe('secrets in errors: the location and what was expected, never the value', () => {
  const SECRET = 'tok-Secret-0123456789';
  const shown = (text: string): boolean =>
    [SECRET, Buffer.from(SECRET).toString('base64'), SECRET.slice(4)].some((form) => text.includes(form));

  it.each<[string, (d: string) => void, string[]]>([
    ['a stray character before the token in a vars file', groupVars('edge', `a: 1\n|k3s_token: ${SECRET}\n`), []],
    ['a stray backtick', groupVars('edge', `\`k3s_token: ${SECRET}\n`), []],
    ['a broken multi-line -e', () => undefined, ['-e', `{"k3s_token": "${SECRET}",\n  broken: [1,`]],
    ['an unclosed quote in -e', () => undefined, ['-e', `k3s_token: "${SECRET}\n  x: y`]],
    [
      'a secret pasted as a pool address',
      () => undefined,
      ['-e', `{"metallb_pools": [{"name": "p", "addresses": ["${SECRET}"]}]}`],
    ],
    [
      'a secret pasted as the BGP peer address',
      () => undefined,
      ['-e', `{"metallb_bgp_peers": [{"name": "e", "myASN": 1, "peerASN": 2, "peerAddress": "${SECRET}"}]}`],
    ],
  ])('%s', async (_what, prepare, args) => {
    const r = await play(['-i', inventoryWith(prepare), '--syntax-check', ...args]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/:\d+:\d+: |-e #1/);
    expect(shown(r.stderr + r.stdout), r.stderr).toBe(false);
  });
});

describe('Ansible layouts: group_vars/NAME/ folders as Ansible reads them', () => {
  it('reads files of subfolders, recursively, and skips hidden files, backups and other extensions', async () => {
    const dir = inventoryWith((d) => {
      mkdirSync(join(d, 'group_vars/k3s_agent/network'), { recursive: true });
      writeFileSync(join(d, 'group_vars/k3s_agent/network/ssh.yml'), 'firewall_ssh_sources: [not-an-address]\n');
      writeFileSync(join(d, 'group_vars/k3s_agent/.hidden.yaml'), 'firewall_ssh_port: hidden\n');
      writeFileSync(join(d, 'group_vars/k3s_agent/main.yaml~'), 'firewall_ssh_port: backup\n');
      writeFileSync(join(d, 'group_vars/k3s_agent/notes.txt'), 'firewall_ssh_port: notes\n');
      writeFileSync(join(d, 'group_vars/k3s_agent/port'), 'firewall_ssh_port: no-extension\n');
    });
    const r = await play(['-i', dir, '--syntax-check']);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(
      /group_vars\/k3s_agent\/network\/ssh\.yml:1:\d+: firewall_ssh_sources\[0\]: expected an address or a CIDR/,
    );
    expect(r.stderr).toMatch(/group_vars\/k3s_agent\/port:1:\d+: firewall_ssh_port: expected/);
    expect(r.stderr).not.toMatch(/hidden|main\.yaml~|notes\.txt/);
  });
});

describe('reports: the --json file is replaced whole, and only a regular file may be replaced', () => {
  it('refuses a FIFO and a symbolic link (a link to a system file would be replaced as root)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-json-'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    symlinkSync('/etc/hostname', join(dir, 'link.json'));
    for (const [name, why] of [
      ['fifo', /it is not a regular file \(a device, FIFO or socket would be replaced\)/],
      ['link.json', /it is a symbolic link/],
    ] as const) {
      const r = await play(['-i', inventoryWith(() => undefined), '--json', join(dir, name)]);
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toMatch(why);
    }
    expect(readFileSync('/etc/hostname', 'utf8').length).toBeGreaterThan(0);
  });
});

describe('output: a reader that goes away', () => {
  it('`play --list-hosts | true` ends quietly with its own exit code, not with an EPIPE stack trace', () => {
    const root = join(import.meta.dirname, '../..');
    const r = spawnSync(
      'bash',
      ['-c', 'node bin/play.mjs site.yaml -i inventory/example-bgp --list-hosts | true; exit ${PIPESTATUS[0]}'],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
  });
});
