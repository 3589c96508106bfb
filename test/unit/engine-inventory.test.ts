import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/input/errors.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { groupsOf, hostsOfGroup, inventoryLayers } from '../../src/inventory/model.ts';
import { selectHosts } from '../../src/inventory/patterns.ts';
import { mergeLayers, valuesOf, type VarLayer } from '../../src/inventory/variables.ts';
import { precedence } from '../../src/engine/compile.ts';

const fixtures = join(import.meta.dirname, '../fixtures/inventories');
const inv = loadInventory(join(fixtures, 'precedence'));
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};
const layer = (label: string, values: Record<string, unknown>): VarLayer => ({
  label,
  values,
  locate: () => ({ file: label }),
});

describe('inventory parsing', () => {
  it('reads hosts, groups and nesting from Ansible YAML', () => {
    expect([...inv.hosts.keys()]).toEqual(['loner', 'h1', 'h2', 'h3']);
    expect(hostsOfGroup(inv, 'parent')).toEqual(['h1', 'h2']);
    expect(hostsOfGroup(inv, 'ungrouped')).toEqual(['loner']);
    expect(groupsOf(inv, 'h2').map((g) => g.name)).toEqual(['all', 'other', 'parent', 'child']);
  });

  it('reports every schema problem with file, line and key path, before anything else', () => {
    const err = thrown(() => loadInventory(join(fixtures, 'broken')));
    expect(err).toBeInstanceOf(InputError);
    const text = (err as InputError).message;
    expect(text).toMatch(/broken\/hosts\.yaml:6:7: all\.children\.web\.hostz: unknown key "hostz"/);
  });

  it('rejects group_vars for a group that does not exist, listing the groups', () => {
    expect(() => loadInventory(join(fixtures, 'orphan-vars'))).toThrow(
      /group_vars\/nosuch\.yaml: group_vars for unknown group "nosuch"; known groups: all, ungrouped/,
    );
  });
});

describe('variable precedence (lowest to highest)', () => {
  const defaults = layer('defaults', { level: 'role default', only_default: 'default' });
  const resolve = (host: string, play?: VarLayer, params?: VarLayer, extra: VarLayer[] = []) =>
    valuesOf(mergeLayers(precedence(defaults, inventoryLayers(inv, host), play, params, extra)));

  it('role defaults are the lowest: any inventory value wins, unset ones stay', () => {
    expect(resolve('loner').only_default).toBe('default');
    expect(resolve('loner').level).toBe('all');
  });

  it('inventory all: inline vars, then group_vars/all', () => {
    expect(resolve('loner')).toMatchObject({ from_inline_all: true, only_all: 'all', level: 'all' });
  });

  it('a parent group wins over all', () => {
    expect(resolve('h3').level).toBe('all');
    expect(valuesOf(mergeLayers(inventoryLayers(inv, 'h2'))).only_parent).toBe('parent');
  });

  it('a child group wins over its parent (group_vars/child/ folder of files)', () => {
    expect(resolve('h2')).toMatchObject({ level: 'child', only_child: 'child', only_parent: 'parent' });
  });

  it('host vars win over groups (inline, then host_vars/HOST)', () => {
    expect(resolve('h1')).toMatchObject({ level: 'host', level_host_inline: true, ansible_host: '10.0.0.1' });
  });

  it('play vars win over the inventory', () => {
    expect(resolve('h1', layer('play', { level: 'play' })).level).toBe('play');
  });

  it('role parameters win over play vars', () => {
    expect(resolve('h1', layer('play', { level: 'play' }), layer('params', { level: 'params' })).level).toBe('params');
  });

  it('-e wins over everything, later -e over earlier', () => {
    const v = resolve('h1', layer('play', { level: 'play' }), layer('params', { level: 'params' }), [
      layer('-e 1', { level: 'e1' }),
      layer('-e 2', { level: 'e2' }),
    ]);
    expect(v.level).toBe('e2');
  });
});

describe('host patterns', () => {
  const sel = (p: string) => selectHosts(inv, p);
  it("names, groups and all (in Ansible's order: a group's own hosts, then its children's, level by level)", () => {
    expect(sel('all')).toEqual(['loner', 'h2', 'h3', 'h1']);
    expect(sel('h3')).toEqual(['h3']);
    expect(sel('child')).toEqual(['h1', 'h2']);
  });
  it('union, intersection, exclusion', () => {
    expect(sel('child:other')).toEqual(['h1', 'h2', 'h3']);
    expect(sel('parent:&other')).toEqual(['h2']);
    expect(sel('all:!parent')).toEqual(['loner', 'h3']);
    expect(sel('child,h3')).toEqual(['h1', 'h2', 'h3']);
  });
  it('globs and regexes over hosts and groups', () => {
    expect(sel('h*')).toEqual(['h1', 'h2', 'h3']);
    expect(sel('oth*')).toEqual(['h2', 'h3']);
    expect(sel('~h[13]')).toEqual(['h1', 'h3']);
    expect(sel('?2')).toEqual(['h2']);
  });
  it('subscripts pick hosts of a group by position', () => {
    expect(sel('parent[0]')).toEqual(['h1']);
    expect(sel('all[-1]')).toEqual(['h1']);
    expect(sel('all[1:2]')).toEqual(['h2', 'h3']);
  });
  it('a limit only narrows', () => {
    expect(selectHosts(inv, 'h1:h3', ['h2', 'h3'])).toEqual(['h3']);
  });
  it('an unknown name is an error listing hosts and groups', () => {
    expect(() => sel('web')).toThrow(
      /unknown host or group "web"; hosts: loner, h1, h2, h3; groups: all, child, other, parent, ungrouped/,
    );
  });
});
