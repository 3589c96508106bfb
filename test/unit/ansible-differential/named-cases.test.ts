import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/input/errors.ts';
import { loadInventory } from '../../../src/inventory/load.ts';
import { inventoryLayers } from '../../../src/inventory/model.ts';
import { PatternError, selectHosts } from '../../../src/inventory/patterns.ts';
import { mergeLayers, valuesOf } from '../../../src/inventory/variables.ts';
import { pythonLiteral } from '../../../src/inventory/python-literal.ts';
import { ansiblePython, askAnsible } from './oracle.ts';

// The differences the review found between play and ansible-core 2.14, each written out, with
// Ansible's own answer read from ansible-core in the same test.

function inventory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'play-ansible-case-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const EXAMPLE = `all:
  children:
    k3s_cluster:
      children:
        k3s_server:
          hosts:
            cp1: { ansible_host: 192.0.2.11 }
        k3s_agent:
          hosts:
            w1: { ansible_host: 192.0.2.12 }
            w2: { ansible_host: 192.0.2.13 }
    edge:
      hosts:
        edge: { ansible_host: 192.0.2.1 }
`;

describe('the differences found between play and ansible-core, case by case', () => {
  it("--limit '!w2' is every host but w2, as Ansible starts a pattern of exclusions from all", () => {
    const dir = inventory({ 'hosts.yaml': EXAMPLE });
    const [answer] = askAnsible([{ dir, patterns: ['all'], limits: [['all', '!w2']], vars: [] }]);
    const inv = loadInventory(dir);
    expect(selectHosts(inv, '!w2', selectHosts(inv, 'all'))).toEqual(answer?.limited[0]);
    expect(answer?.limited[0]).toEqual(['edge', 'cp1', 'w1']);
  });

  it("k3s_server[0] is the group's first host as listed, not the host first named elsewhere", () => {
    const dir = inventory({
      'hosts.yaml': `all:
  children:
    edge:
      hosts:
        cp2: {}
    k3s_server:
      hosts:
        cp1: {}
        cp2: {}
`,
    });
    const [answer] = askAnsible([{ dir, patterns: ['k3s_server[0]', 'all', 'k3s_server:edge'], limits: [], vars: [] }]);
    const inv = loadInventory(dir);
    expect(selectHosts(inv, 'k3s_server[0]')).toEqual(['cp1']);
    for (const p of ['k3s_server[0]', 'all', 'k3s_server:edge'])
      expect(selectHosts(inv, p)).toEqual(answer?.patterns[p]);
  });

  it("a group's inline vars lose to group_vars/all, as Ansible applies every inline group var first", () => {
    const dir = inventory({
      'hosts.yaml': `all:
  children:
    web:
      vars: { where: inline web }
      hosts: { w1: {} }
`,
      'group_vars/all.yaml': 'where: file all\n',
    });
    const [answer] = askAnsible([{ dir, patterns: [], limits: [], vars: ['where'] }]);
    const vars = valuesOf(mergeLayers(inventoryLayers(loadInventory(dir), 'w1')));
    expect(vars.where).toBe('file all');
    expect(answer?.vars.w1).toEqual({ where: vars.where });
  });

  it('ansible_group_priority orders groups of the same depth, and is not a variable', () => {
    const dir = inventory({
      'hosts.yaml': `all:
  children:
    a:
      vars: { where: a, ansible_group_priority: 10 }
      hosts: { h1: {} }
    b:
      vars: { where: b }
      hosts: { h1: {} }
`,
    });
    const [answer] = askAnsible([{ dir, patterns: [], limits: [], vars: ['where', 'ansible_group_priority'] }]);
    const vars = valuesOf(mergeLayers(inventoryLayers(loadInventory(dir), 'h1')));
    expect({ where: vars.where }).toEqual(answer?.vars.h1);
    expect(vars.where).toBe('a');
  });

  it('host ranges and ports in host names: w[1:2].example.net is two hosts, db:2222 a port', () => {
    const dir = inventory({
      'hosts.yaml': `web:
  hosts:
    w[1:2].example.net: {}
    node-[a:c]: {}
    db[08:10]: {}
    db:2222: { role: db }
`,
    });
    const [answer] = askAnsible([{ dir, patterns: ['all'], limits: [], vars: ['ansible_port', 'role'] }]);
    const inv = loadInventory(dir);
    expect(selectHosts(inv, 'all')).toEqual(answer?.patterns.all);
    expect(selectHosts(inv, 'all')).toContain('w2.example.net');
    const db = valuesOf(mergeLayers(inventoryLayers(inv, 'db')));
    expect({ ansible_port: db.ansible_port, role: db.role }).toEqual(answer?.vars.db);
  });

  it('a host range Ansible would read wrongly or not at all is refused at its line', () => {
    const dir = inventory({ 'hosts.yaml': 'web:\n  hosts:\n    w[3:1]: {}\n' });
    expect(() => loadInventory(dir)).toThrow(
      /hosts\.yaml:3:\d+: web\.hosts\.w\[3:1\]: host "w\[3:1\]": a host range goes from low to high/,
    );
    const padded = inventory({ 'hosts.yaml': 'web:\n  hosts:\n    w[01:100]: {}\n' });
    expect(() => loadInventory(padded)).toThrow(/begin and end of the same length/);
  });

  it("~regex matches from the start of the name, as Python's re.match", () => {
    const dir = inventory({ 'hosts.yaml': 'servers:\n  hosts:\n    aweb1: {}\n    web2: {}\n' });
    const [answer] = askAnsible([{ dir, patterns: ['~web'], limits: [], vars: [] }]);
    expect(selectHosts(loadInventory(dir), '~web')).toEqual(answer?.patterns['~web']);
    expect(answer?.patterns['~web']).toEqual(['web2']);
  });

  it('a subscript past the end is refused (Ansible errs for one index, selects nothing for a slice)', () => {
    const dir = inventory({ 'hosts.yaml': EXAMPLE });
    const [answer] = askAnsible([{ dir, patterns: ['k3s_agent[5]', 'k3s_agent[3:4]'], limits: [], vars: [] }]);
    expect(answer?.patterns['k3s_agent[5]']).toMatchObject({ error: expect.stringMatching(/No hosts matched/) });
    expect(answer?.patterns['k3s_agent[3:4]']).toEqual([]);
    const inv = loadInventory(dir);
    expect(() => selectHosts(inv, 'k3s_agent[5]')).toThrow(PatternError);
    expect(() => selectHosts(inv, 'k3s_agent[3:4]')).toThrow(
      /"k3s_agent\[3:4\]" selects no host: k3s_agent has 2 hosts \(w1, w2\), counted from 0/,
    );
  });

  it('a host and a group of the same name: the host for a plain term, the group after & and !', () => {
    const dir = inventory({
      'hosts.yaml': `all:
  children:
    edge:
      hosts:
        edge: {}
        r2: {}
    other:
      hosts:
        r2: {}
        r3: {}
`,
    });
    const patterns = ['edge', 'other:&edge', 'all:!edge'];
    const [answer] = askAnsible([{ dir, patterns, limits: [], vars: [] }]);
    const inv = loadInventory(dir);
    for (const p of patterns) expect(selectHosts(inv, p)).toEqual(answer?.patterns[p]);
    expect(selectHosts(inv, 'edge')).toEqual(['edge']);
    expect(selectHosts(inv, 'other:&edge')).toEqual(['r2']);
  });

  it('group_vars/web/ beside group_vars/web.yaml is refused: Ansible reads only the first and ignores the other', () => {
    const dir = inventory({
      'hosts.yaml': 'web:\n  hosts:\n    w1: {}\n',
      'group_vars/web/main.yaml': 'where: folder\n',
      'group_vars/web.yaml': 'where: file\n',
    });
    const [answer] = askAnsible([{ dir, patterns: [], limits: [], vars: ['where'] }]);
    expect(answer?.vars.w1).toEqual({ where: 'folder' });
    let err: unknown;
    try {
      loadInventory(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(String((err as Error).message)).toMatch(
      /group_vars\/web\.yaml: group_vars for "web" is both web and web\.yaml: Ansible reads only web and ignores the rest/,
    );
  });
});

describe('YAML 1.1 values, as Ansible reads them', () => {
  it('yes/no/on/off are booleans, 1_000 a number, 1e3 and 0o17 text; 010 and 1:30 are refused without repeating them', () => {
    const values = { a: 'yes', b: 'Off', c: '1_000', d: '1e3', e: '0o17', f: '0x1F', g: '.5', h: '08', i: '~' };
    const dir = inventory({
      'hosts.yaml': 'web:\n  hosts:\n    w1: {}\n',
      'group_vars/web.yaml': Object.entries(values)
        .map(([k, v]) => `${k}: ${v}\n`)
        .join(''),
    });
    const [answer] = askAnsible([{ dir, patterns: [], limits: [], vars: Object.keys(values) }]);
    const vars = valuesOf(mergeLayers(inventoryLayers(loadInventory(dir), 'w1')));
    expect(Object.fromEntries(Object.keys(values).map((k) => [k, vars[k]]))).toEqual(answer?.vars.w1);
    expect(vars).toMatchObject({ a: true, b: false, c: 1000, d: '1e3', e: '0o17', h: '08' });

    const traps = inventory({
      'hosts.yaml': 'web:\n  hosts:\n    w1: {}\n',
      'group_vars/web.yaml': 'sysctl_extra:\n  vm.swappiness: 010\nk3s_token: 1:30:17\n',
    });
    const [trapped] = askAnsible([{ dir: traps, patterns: [], limits: [], vars: ['sysctl_extra', 'k3s_token'] }]);
    expect(trapped?.vars.w1).toEqual({ sysctl_extra: { 'vm.swappiness': 8 }, k3s_token: 5417 });
    let message = '';
    try {
      loadInventory(traps);
    } catch (e) {
      message = e instanceof Error ? e.message : String(e);
    }
    expect(message).toMatch(
      /group_vars\/web\.yaml:2:18: a number with a leading 0 is octal in YAML 1\.1, which Ansible reads \(010 is 8\)/,
    );
    expect(message).toMatch(/group_vars\/web\.yaml:3:12: numbers joined by colons are one number in base 60/);
    expect(message).not.toContain('1:30:17');
  });
});

describe('INI inventories and host lists, as Ansible reads them', () => {
  it('reads an INI inventory: sections, :vars, :children, host variables as Python literals, comments', () => {
    const dir = inventory({
      'hosts.ini': `# a provider's usual file
loner ansible_port=2222

[k3s_server]
cp1 ansible_host=192.0.2.11 quoted="22" flag=True words='a b' list="[1, 'x']" yes_text=yes  # comment
[k3s_agent]
w[1:2] ansible_user=debian

[k3s_cluster:children]
k3s_server
k3s_agent

[k3s_cluster:vars]
port=6443
name="6443"
; another comment
note = spaced value
`,
    });
    const file = join(dir, 'hosts.ini');
    const names = [
      'ansible_port',
      'ansible_host',
      'quoted',
      'flag',
      'words',
      'list',
      'yes_text',
      'ansible_user',
      'port',
      'name',
      'note',
    ];
    const [answer] = askAnsible([{ dir: file, patterns: ['all', 'k3s_cluster'], limits: [], vars: names }]);
    const inv = loadInventory(file);
    for (const p of ['all', 'k3s_cluster']) expect(selectHosts(inv, p)).toEqual(answer?.patterns[p]);
    for (const [host, expected] of Object.entries(answer?.vars ?? {})) {
      const vars = valuesOf(mergeLayers(inventoryLayers(inv, host)));
      expect(
        Object.fromEntries(
          names
            .filter((k) => k in vars)
            .sort()
            .map((k) => [k, vars[k]]),
        ),
        host,
      ).toEqual(expected);
    }
    expect(answer?.vars.cp1).toMatchObject({ quoted: 22, flag: true, words: 'a b', list: [1, 'x'], yes_text: 'yes' });
    expect(answer?.vars.w1).toMatchObject({ port: 6443, name: '6443', note: 'spaced value' });
  });

  it('refuses what Ansible refuses in an INI file, at its line', () => {
    const dir = inventory({ 'hosts.ini': '[web]\nw1 not-an-assignment\n[db:vars]\nx=1\n' });
    let message = '';
    try {
      loadInventory(join(dir, 'hosts.ini'));
    } catch (e) {
      message = e instanceof Error ? e.message : String(e);
    }
    expect(message).toMatch(/hosts\.ini:2: host "w1": expected key=value variables after the host name/);
    expect(message).toMatch(/hosts\.ini:3: \[db:vars\] is for a group no section defines/);
  });

  it('a file of an inventory folder that is no inventory (a key kept beside it) is skipped, named, as Ansible skips it', () => {
    const dir = inventory({
      'hosts.yaml': EXAMPLE,
      id_ed25519: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
    });
    const [answer] = askAnsible([{ dir, patterns: ['all'], limits: [], vars: [] }]);
    const inv = loadInventory(dir);
    expect(selectHosts(inv, 'all')).toEqual(answer?.patterns.all);
    expect(inv.skipped).toEqual([join(dir, 'id_ed25519')]);
    const broken = inventory({ 'hosts.yaml': EXAMPLE, hosts: '[web]\nw1 not-an-assignment\n' });
    expect(() => loadInventory(broken)).toThrow(/hosts:2: host "w1": expected key=value/);
  });

  it('-i with a comma is a list of hosts, as Ansible reads it', () => {
    const list = '192.0.2.11,cp2:2222,';
    const [answer] = askAnsible([{ dir: list, patterns: ['all', 'ungrouped'], limits: [], vars: ['ansible_port'] }]);
    const inv = loadInventory(list);
    expect(selectHosts(inv, 'all')).toEqual(answer?.patterns.all);
    expect(selectHosts(inv, 'ungrouped')).toEqual(answer?.patterns.ungrouped);
    expect(valuesOf(mergeLayers(inventoryLayers(inv, 'cp2'))).ansible_port).toBe(2222);
    expect(answer?.vars.cp2).toEqual({ ansible_port: 2222 });
  });
});

describe("INI values: Python's ast.literal_eval, or the text", () => {
  it('reads each value as Python itself does', () => {
    const values = [
      '22',
      '-5',
      '(1)',
      '(1,)',
      '(1, )',
      '[1, 2,]',
      "{'a': [1, 'x'], 2: None}",
      '0755',
      '0o755',
      '0x1F',
      '1_000',
      '1e3',
      '1.5',
      'True',
      'yes',
      'None',
      '1 2',
      '\'a\' "b"',
      "'it''s'",
      '"quoted # hash"',
      'a=b',
      '[1, [2, (3,)]]',
      '{}',
      '{1, 2}',
      '1j',
      "u'x'",
      String.raw`r'a\nb'`,
      "b'x'",
      String.raw`'tab\there'`,
      String.raw`"\x41\u00e9"`,
    ];
    const script =
      'import ast, json, sys\nout = []\nfor v in json.load(sys.stdin):\n    try:\n        r = ast.literal_eval(v)\n        json.dumps(r)\n    except Exception:\n        r = v\n    out.append(r)\nprint(json.dumps(out))\n';
    const r = spawnSync(ansiblePython(), ['-c', script], { input: JSON.stringify(values), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const python = JSON.parse(r.stdout) as unknown[];
    // Python's own answers, except where its value has no JSON form (a set, a complex number): text in play.
    values.forEach((v, i) => expect(pythonLiteral(v), v).toEqual(python[i]));
  });
});
