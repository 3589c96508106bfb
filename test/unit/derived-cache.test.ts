import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DerivedCache } from '../../src/input/derived-cache.ts';
import { readYaml } from '../../src/input/yaml-file.ts';
import { yamlText } from '../../src/role/template.ts';

const projectRoot = join(import.meta.dirname, '../..');
const fixtures = join(projectRoot, 'test/fixtures');

/** A file and a cache of its own; `settled`: the run's secrets (none) are known, entries are written as they come. */
function yamlFile(text: string, settled = true): { file: string; cache: DerivedCache } {
  const dir = mkdtempSync(join(tmpdir(), 'play-cache-'));
  writeFileSync(join(dir, 'f.yaml'), text);
  const cache = new DerivedCache(join(dir, 'cache'));
  if (settled) cache.settle([]);
  return { file: join(dir, 'f.yaml'), cache };
}

const entries = (c: DerivedCache): string[] => {
  try {
    return readdirSync(c.dir);
  } catch {
    return [];
  }
};

describe('derived cache: parsed YAML', () => {
  it('a parse waits until the secrets are known; one holding a secret is never written, and its mark keeps no part of it', () => {
    const { file, cache } = yamlFile('peer:\n  password: hunter2-in-clear\nother: 1\n', false);
    const plain = yamlFile('other: 1\n', false);
    readYaml(file, cache);
    readYaml(plain.file, plain.cache);
    expect(entries(cache)).toEqual([]);
    cache.settle(['hunter2-in-clear']);
    plain.cache.settle([]);
    expect(entries(plain.cache).filter((e) => e.endsWith('.json'))).toHaveLength(1);
    readYaml(file, cache);
    expect(entries(cache).filter((e) => e.endsWith('.json'))).toHaveLength(0);
    expect(entries(cache).filter((e) => e.endsWith('.holds-secrets'))).toHaveLength(1);
    for (const e of entries(cache)) expect(readFileSync(join(cache.dir, e), 'utf8')).not.toContain('hunter2');
  });

  it("a run whose input is refused leaves no parse of a secret-holding file in the compiled tree's cache", () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-refused-'));
    cpSync(join(projectRoot, 'inventory/example-bgp'), dir, { recursive: true });
    const secret = `refused-run-${process.pid}-md5`;
    const vars = join(dir, 'group_vars/all.yaml');
    // A typo of an optional variable: refused once the roles' schemas are known, after every file was parsed.
    writeFileSync(vars, `${readFileSync(vars, 'utf8').replace('supersecret-md5', secret)}\nfrr_maximum_path: 4\n`);
    const run = spawnSync('node', ['bin/play.mjs', 'site.yaml', '-i', dir, '--syntax-check'], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(6);
    expect(run.stderr).toMatch(/frr_maximum_path/);
    const holding = spawnSync('grep', ['-rl', '--', secret, join(projectRoot, 'dist')], { encoding: 'utf8' });
    expect(holding.stdout).toBe('');
    expect(holding.status).toBe(1);
  });

  it('a text parsed once is looked up, and still locates its keys by line', () => {
    const { file, cache } = yamlFile('a: 1\nnested:\n  list: [x, y]\n  key: value\n');
    const first = readYaml(file, cache);
    expect(entries(cache)).toHaveLength(1);
    // A parsed inventory holds the secrets its file holds: only its owner may read the entry.
    expect(statSync(join(cache.dir, entries(cache)[0] ?? '')).mode & 0o777).toBe(0o600);
    // The entry is what a rerun reads: change it and the rerun sees the change.
    writeFileSync(join(cache.dir, entries(cache)[0] ?? ''), JSON.stringify({ from: 'cache' }));
    const again = readYaml(file, cache);
    expect(first.value).toEqual({ a: 1, nested: { list: ['x', 'y'], key: 'value' } });
    expect(again.value).toEqual({ from: 'cache' });
    expect(again.locate(['nested', 'key'])).toEqual({ file, line: 4, column: 3 });
  });

  it('values JSON would change (.nan, shared anchors) and invalid YAML are never cached', () => {
    for (const text of ['x: .nan\n', 'a: &s {k: 1}\nb: *s\n']) {
      const { file, cache } = yamlFile(text);
      readYaml(file, cache);
      expect(entries(cache), text).toEqual([]);
    }
    const { file, cache } = yamlFile('a: [1, 2\n');
    expect(() => readYaml(file, cache)).toThrow(/invalid YAML/);
    expect(entries(cache)).toEqual([]);
  });
});

describe('derived cache: the yaml template helper', () => {
  const cacheDir = (): DerivedCache => {
    const cache = new DerivedCache(join(mkdtempSync(join(tmpdir(), 'play-cache-')), 'cache'));
    cache.settle([]);
    return cache;
  };

  it('keeps its output by the value it was given, so a rerun reads it instead of loading the yaml library', () => {
    const cache = cacheDir();
    const config = { 'node-ip': '192.0.2.12', 'kube-proxy-arg': ['proxy-mode=nftables'] };
    expect(yamlText(config, cache)).toBe('node-ip: 192.0.2.12\nkube-proxy-arg:\n  - proxy-mode=nftables');
    expect(entries(cache)).toHaveLength(1);
    writeFileSync(join(cache.dir, entries(cache)[0] ?? ''), 'from: cache');
    expect(yamlText({ ...config }, cache)).toBe('from: cache');
    expect(yamlText({ ...config, 'node-ip': '192.0.2.13' }, cache)).toBe(
      'node-ip: 192.0.2.13\nkube-proxy-arg:\n  - proxy-mode=nftables',
    );
    expect(entries(cache)).toHaveLength(2);
  });

  it('an output holding a secret, in any spelling YAML gives it, is never kept', () => {
    const cache = cacheDir();
    cache.settle(["agent-'token'-value", 'db-password\\x']);
    yamlText({ 'agent-token': "agent-'token'-value" }, cache);
    yamlText({ 'datastore-endpoint': 'postgres://u:db-password\\x@db' }, cache);
    expect(entries(cache)).toEqual([]);
  });

  it('a value JSON would not give back exactly is rendered every time, never kept', () => {
    const cache = cacheDir();
    const shared = { k: 1 };
    expect(yamlText({ x: Number.NaN }, cache)).toBe('x: .nan');
    expect(yamlText({ a: shared, b: shared }, cache)).toMatch(/^a: &a1\n/);
    expect(entries(cache)).toEqual([]);
  });
});

describe('derived cache: the launcher, run twice (the second run reads what the first cached)', () => {
  const play = (...args: string[]) =>
    spawnSync(process.execPath, [join(projectRoot, 'bin/play.mjs'), ...args], { encoding: 'utf8' });

  it('a template error is reported with its line by a cached template too', () => {
    const dir = mkdtempSync(join(fixtures, 'project/playbooks/.tmp-'));
    const playbook = join(dir, '..', `${dir.split('/').pop() ?? ''}.yaml`);
    writeFileSync(playbook, '- hosts: k3s_agent\n  roles: [broken]\n');
    try {
      for (const run of [1, 2]) {
        const r = play(playbook, '-i', join(fixtures, 'inventories/cluster'), '--syntax-check');
        expect(r.status, `run ${run}`).toBe(6);
        expect(r.stderr, `run ${run}`).toMatch(
          /template roles\/broken\/templates\/typo\.conf\.hbs: line 2: variable "brokne_name" is not defined/,
        );
      }
    } finally {
      spawnSync('rm', ['-rf', dir, playbook]);
    }
  });

  it('a problem in a cached YAML file is still located by line and column', () => {
    const { file } = yamlFile('- hosts: all\n  roles: [motd]\n  hostz: typo\n');
    for (const run of [1, 2]) {
      const r = play(file, '-i', join(fixtures, 'inventories/cluster'), '--syntax-check');
      expect(r.status, `run ${run}`).toBe(6);
      expect(r.stderr, `run ${run}`).toContain(`${file}:3:3: [0].hostz: unknown key "hostz"`);
    }
  });
});
