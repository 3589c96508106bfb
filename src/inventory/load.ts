import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError, type InputProblem } from '../input/errors.ts';
import { resolveNamed } from '../input/resolve-path.ts';
import { checkSchema, type JsonSchema } from '../input/schema-check.ts';
import { NO_VAULT, type Vault } from '../input/vault.ts';
import { readYaml, type YamlSource } from '../input/yaml-file.ts';
import type { Inventory, InventoryGroup, InventoryHost } from './model.ts';
import { isPlainObject, type VarLayer } from './variables.ts';

const NAME = '^[A-Za-z0-9_.\\-\\[\\]:]+$';

const groupSchema: JsonSchema = {
  $id: 'play:inventory-group',
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    hosts: {
      type: ['object', 'null'],
      propertyNames: { pattern: NAME },
      additionalProperties: { type: ['object', 'null'] },
    },
    vars: { type: ['object', 'null'] },
    children: { type: ['object', 'null'], additionalProperties: { $ref: 'play:inventory-group' } },
  },
};

const inventorySchema: JsonSchema = {
  type: 'object',
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_\\-]*$' },
  additionalProperties: { $ref: 'play:inventory-group' },
  $defs: { group: groupSchema },
};

const varsFileSchema: JsonSchema = { type: ['object', 'null'] };

const YAML_EXT = ['.yaml', '.yml', ''];

/** `-i prod` means `inventory/prod/`; a path (anything with a slash, or that exists) is used as is. */
export const resolveInventoryPath = (arg: string, cwd: string): string =>
  resolveNamed(arg, cwd, 'inventory', 'inventory');

/** Loads an Ansible YAML inventory (a file, or a directory of them) with group_vars/ and host_vars/ beside it. */
export function loadInventory(path: string, vault: Vault = NO_VAULT): Inventory {
  const isDir = statSync(path).isDirectory();
  const files = isDir ? inventoryFilesIn(path) : [path];
  if (files.length === 0) throw InputError.at({ file: path }, 'no inventory file (*.yaml or *.yml) in this directory');
  const inv: Inventory = { source: path, hosts: new Map(), groups: new Map() };
  ensureGroup(inv, 'all', undefined);
  const problems: InputProblem[] = [];
  for (const file of files) {
    try {
      addInventoryFile(inv, readYaml(file, undefined, vault));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  assignUngrouped(inv);
  computeDepths(inv);
  problems.push(...addVarsDirs(inv, isDir ? path : dirname(path), vault));
  if (problems.length > 0) throw new InputError(problems);
  return inv;
}

/** A dangling link or a link loop is not a directory: reading it then says what it is. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function inventoryFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function addInventoryFile(inv: Inventory, src: YamlSource): void {
  if (src.value === null || src.value === undefined) return;
  const problems = checkSchema(inventorySchema, src.value, src.locate);
  if (problems.length > 0) throw new InputError(problems);
  for (const [name, body] of Object.entries(src.value as Record<string, unknown>)) {
    addGroup(inv, src, name, body, name === 'all' ? undefined : 'all', [name]);
  }
}

function addGroup(
  inv: Inventory,
  src: YamlSource,
  name: string,
  body: unknown,
  parent: string | undefined,
  path: string[],
): void {
  const group = ensureGroup(inv, name, parent);
  if (!isPlainObject(body)) return;
  if (isPlainObject(body.vars)) group.varLayers.push(layer(src, body.vars, [...path, 'vars']));
  for (const [host, hostVars] of Object.entries(isPlainObject(body.hosts) ? body.hosts : {})) {
    group.hosts.add(host);
    const entry = ensureHost(inv, host);
    if (isPlainObject(hostVars)) entry.varLayers.push(layer(src, hostVars, [...path, 'hosts', host]));
  }
  for (const [child, childBody] of Object.entries(isPlainObject(body.children) ? body.children : {})) {
    addGroup(inv, src, child, childBody, name, [...path, 'children', child]);
  }
}

function layer(src: YamlSource, values: Record<string, unknown>, prefix: (string | number)[]): VarLayer {
  return { label: src.file, values, locate: (p) => src.locate([...prefix, ...p]) };
}

function ensureGroup(inv: Inventory, name: string, parent: string | undefined): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, depth: 0, parents: new Set(), children: new Set(), hosts: new Set(), varLayers: [] };
    inv.groups.set(name, g);
  }
  if (parent && parent !== name) {
    g.parents.add(parent);
    ensureGroup(inv, parent, undefined).children.add(name);
  }
  return g;
}

function ensureHost(inv: Inventory, name: string): InventoryHost {
  let h = inv.hosts.get(name);
  if (!h) {
    h = { name, varLayers: [] };
    inv.hosts.set(name, h);
  }
  return h;
}

/** Ansible puts hosts that belong to no group but `all` into `ungrouped`. */
function assignUngrouped(inv: Inventory): void {
  const all = inv.groups.get('all');
  if (!all) return;
  const grouped = new Set([...inv.groups.values()].filter((g) => g.name !== 'all').flatMap((g) => [...g.hosts]));
  const loners = [...all.hosts].filter((h) => !grouped.has(h));
  const ungrouped = ensureGroup(inv, 'ungrouped', 'all');
  loners.forEach((h) => ungrouped.hosts.add(h));
}

function computeDepths(inv: Inventory): void {
  const depth = (name: string, seen: Set<string>): number => {
    const g = inv.groups.get(name);
    if (!g || g.parents.size === 0 || seen.has(name)) return 0;
    seen.add(name);
    return 1 + Math.max(...[...g.parents].map((p) => depth(p, new Set(seen))));
  };
  for (const g of inv.groups.values()) g.depth = g.name === 'all' ? 0 : Math.max(1, depth(g.name, new Set()));
}

/** group_vars/NAME(.yaml|.yml) or group_vars/NAME/*.yaml; same for host_vars. */
function addVarsDirs(inv: Inventory, base: string, vault: Vault): InputProblem[] {
  const problems: InputProblem[] = [];
  const attach = (dir: string, kind: 'group' | 'host'): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir).sort()) {
      const full = join(dir, entry);
      const name = entry.replace(/\.ya?ml$/, '');
      const target = kind === 'group' ? inv.groups.get(name) : inv.hosts.get(name);
      const files = isDirectory(full) ? inventoryFilesIn(full) : YAML_EXT.some((x) => entry === name + x) ? [full] : [];
      if (files.length === 0) continue;
      if (!target) {
        const known = kind === 'group' ? inv.groups.keys() : inv.hosts.keys();
        problems.push({
          location: { file: full },
          message: `${kind}_vars for unknown ${kind} "${name}"; known ${kind}s: ${[...known].sort().join(', ')}`,
        });
        continue;
      }
      for (const file of files) {
        try {
          const src = readYaml(file, undefined, vault);
          const found = checkSchema(varsFileSchema, src.value, src.locate).map((p) => ({
            ...p,
            message: 'expected a mapping of variable names to values',
          }));
          problems.push(...found);
          if (isPlainObject(src.value)) target.varLayers.push(layer(src, src.value, []));
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          problems.push(...e.problems);
        }
      }
    }
  };
  attach(join(base, 'group_vars'), 'group');
  attach(join(base, 'host_vars'), 'host');
  return problems;
}
