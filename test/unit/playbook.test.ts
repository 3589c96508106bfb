import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/input/errors.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { batches } from '../../src/engine/serial.ts';
import { checkSelection, isSelected } from '../../src/engine/selection.ts';

const dir = join(import.meta.dirname, '../fixtures/playbooks');

describe('playbook schema', () => {
  it('reads every play keyword', () => {
    const pb = loadPlaybook(join(dir, 'full.yaml'));
    const [play] = pb.plays;
    expect(play).toMatchObject({
      name: 'everything a play can say',
      hosts: ['k3s_server', 'k3s_agent'],
      become: true,
      serial: [1, '50%'],
      tags: ['site'],
      anyErrorsFatal: true,
      maxFailPercentage: 20,
    });
    expect(play?.roles.map((r) => [r.name, r.tags])).toEqual([
      ['demo', []],
      ['motd', ['banner', 'motd']],
    ]);
    expect(play?.roles[1]?.vars?.values).toEqual({ motd_text: 'hi' });
    expect(play?.roles[1]?.vars?.locate(['motd_text'])).toMatchObject({ line: 15 });
  });

  it('reports all violations at once, each with file:line, key path and what was expected', () => {
    let err: unknown;
    try {
      loadPlaybook(join(dir, 'bad-schema.yaml'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const lines = (err as InputError).message.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/bad-schema\.yaml:6:7: \[0\]\.roles\[1\]\.tagz: unknown key "tagz"/),
        expect.stringMatching(/bad-schema\.yaml:7:3: \[0\]\.serial: expected a string matching \^\\d\+/),
        expect.stringMatching(/bad-schema\.yaml:8:3: \[1\]\.hosts: expected a string, or a list of strings/),
        expect.stringMatching(/bad-schema\.yaml:9:3: \[1\]\.roles: expected array/),
        expect.stringMatching(/bad-schema\.yaml:10:3: \[1\]\.max_fail_percentage: expected a number <= 100/),
      ]),
    );
    expect(lines).toHaveLength(5);
  });

  it('reports malformed YAML with line and column', () => {
    expect(() => loadPlaybook(join(dir, 'malformed.yaml'))).toThrow(/malformed\.yaml:3:1: invalid YAML: Flow sequence/);
  });
});

describe('serial batches', () => {
  const hosts = ['a', 'b', 'c', 'd', 'e'];
  it('no serial: one batch', () => expect(batches(hosts, [])).toEqual([hosts]));
  it('a count', () => expect(batches(hosts, [2])).toEqual([['a', 'b'], ['c', 'd'], ['e']]));
  it('a percentage rounds down, never below one', () =>
    expect(batches(hosts, ['50%'])).toEqual([['a', 'b'], ['c', 'd'], ['e']]));
  it('a list: the last size repeats', () =>
    expect(batches(hosts, [1, '40%'])).toEqual([['a'], ['b', 'c'], ['d', 'e']]));
});

describe('tag selection', () => {
  const none = { tags: [], skipTags: [], roles: [] };
  it('no --tags: everything except never', () => {
    expect(isSelected(['x', 'sysctl'], 'sysctl', none)).toBe(true);
    expect(isSelected(['never', 'sysctl'], 'sysctl', none)).toBe(false);
  });
  it('--tags picks tasks by tag, and a role by its name', () => {
    const sel = { ...none, tags: ['frr-edge'] };
    expect(isSelected(['frr-edge'], 'frr-edge', sel)).toBe(true);
    expect(isSelected(['sysctl'], 'sysctl', sel)).toBe(false);
  });
  it('always runs unless skipped by name; never runs only when named', () => {
    expect(isSelected(['always', 'a'], 'a', { ...none, tags: ['b'] })).toBe(true);
    expect(isSelected(['always', 'a'], 'a', { ...none, skipTags: ['always'] })).toBe(false);
    expect(isSelected(['never', 'debug'], 'a', { ...none, tags: ['debug'] })).toBe(true);
  });
  it('--skip-tags wins over --tags', () =>
    expect(isSelected(['a', 'b'], 'r', { ...none, tags: ['a'], skipTags: ['b'] })).toBe(false));
  it('--role keeps only that role', () => {
    expect(isSelected(['x'], 'sysctl', { ...none, roles: ['firewall'] })).toBe(false);
    expect(isSelected(['x'], 'firewall', { ...none, roles: ['firewall'] })).toBe(true);
  });
  it('unknown tags and roles are named with what exists', () => {
    expect(
      checkSelection({ tags: ['nope'], skipTags: [], roles: ['frr'] }, new Set(['a', 'b']), new Set(['frr-edge'])),
    ).toEqual(['unknown tag "nope"; known tags: a, b', 'unknown role "frr"; known roles: frr-edge']);
  });
});
