import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { formatLocation, InputError, type InputProblem, type SourceLocation } from '../input/errors.ts';
import { resolveNamed } from '../input/resolve-path.ts';
import { checkSchema, type JsonSchema } from '../input/schema-check.ts';
import { NO_VAULT, type Vault } from '../input/vault.ts';
import { readText, readYaml, type YamlSource } from '../input/yaml-file.ts';
import { parseIniInventory, type IniEntry } from './ini.ts';
import { expandHostRange, HostRangeError, parseAddress } from './host-names.ts';
import type { Inventory, InventoryGroup, InventoryHost } from './model.ts';
import { isPlainObject, type VarLayer } from './variables.ts';

const NAME = '^[A-Za-z0-9_.\\-\\[\\]:]+$';
const GROUP_NAME = '^[A-Za-z_][A-Za-z0-9_\\-]*$';

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
    children: {
      type: ['object', 'null'],
      propertyNames: { pattern: GROUP_NAME },
      additionalProperties: { $ref: 'play:inventory-group' },
    },
  },
};

const inventorySchema: JsonSchema = {
  type: 'object',
  propertyNames: { pattern: GROUP_NAME },
  additionalProperties: { $ref: 'play:inventory-group' },
  $defs: { group: groupSchema },
};

const varsFileSchema: JsonSchema = { type: ['object', 'null'] };

/** The names Ansible's host_group_vars plugin reads for an entity, in its order. */
const VARS_EXT = ['', '.yml', '.yaml', '.json'];

/** Hidden files and editors' backups are not variables, as Ansible skips them. */
const visible = (entry: string): boolean => !entry.startsWith('.') && !entry.endsWith('~');

/**
 * A vars folder as Ansible reads it: every file with no extension or .yml/.yaml/.json, and every
 * folder without an extension, recursively, in sorted order.
 */
function varsFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter(visible)
    .sort()
    .flatMap((entry) => {
      const full = join(dir, entry);
      const ext = extname(entry);
      if (isDirectory(full)) return ext ? [] : varsFilesIn(full);
      return !ext || ['.yml', '.yaml', '.json'].includes(ext) ? [full] : [];
    });
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** `-i prod` means `inventory/prod/`; a path (anything with a slash, or that exists) is used as is. */
export const resolveInventoryPath = (arg: string, cwd: string): string =>
  isHostList(arg, cwd) ? arg : resolveNamed(arg, cwd, 'inventory', 'inventory');

/** `-i 192.0.2.11,192.0.2.12` or `-i cp1,`: hosts named on the command line (Ansible's host_list). */
const isHostList = (arg: string, cwd: string): boolean => arg.includes(',') && !existsSync(resolve(cwd, arg));

/**
 * Loads an Ansible inventory (a file, or a directory of them; YAML or INI) with group_vars/ and
 * host_vars/ beside it.
 */
export function loadInventory(path: string, vault: Vault = NO_VAULT, playbookDir?: string): Inventory {
  if (isHostList(path, process.cwd())) return hostListInventory(path);
  const isDir = statSync(path).isDirectory();
  const files = isDir ? inventoryFilesIn(path) : [path];
  if (files.length === 0) throw InputError.at({ file: path }, 'no inventory file in this directory');
  const inv: Inventory = { source: path, hosts: new Map(), groups: new Map() };
  // As Ansible's InventoryData starts: `all`, and `ungrouped` as its first child.
  ensureGroup(inv, 'ungrouped', 'all');
  const problems: InputProblem[] = [];
  for (const file of files) {
    try {
      addFile(inv, file, vault);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // Ansible skips, with a warning, a file of the folder that no inventory plugin reads (a key
      // file kept beside the inventory); one that looks like an inventory is refused, located.
      if (isDir && !looksLikeInventory(file)) (inv.skipped ??= []).push(file);
      else problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  // Groups no other group lists are children of `all`, in the order first named (Ansible's reconcile).
  for (const g of inv.groups.values()) if (g.name !== 'all' && g.parents.size === 0) ensureGroup(inv, g.name, 'all');
  assignUngrouped(inv);
  computeDepths(inv);
  const base = isDir ? path : dirname(path);
  problems.push(...addVarsDirs(inv, base, vault, 'files'));
  // Ansible reads group_vars/ and host_vars/ beside the playbook too, above the inventory's.
  if (playbookDir && resolve(playbookDir) !== resolve(base))
    problems.push(...addVarsDirs(inv, playbookDir, vault, 'playFiles'));
  if (problems.length > 0) throw new InputError(problems);
  return inv;
}

/** Hosts named on the command line, in `ungrouped`; no group_vars or host_vars are read for them. */
function hostListInventory(list: string): Inventory {
  const inv: Inventory = { source: list, hosts: new Map(), groups: new Map() };
  const ungrouped = ensureGroup(inv, 'ungrouped', 'all');
  const where = { file: '-i (a list of hosts)' };
  for (const item of list
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)) {
    const parsed = parseAddress(item);
    if (!parsed || parsed.host.includes('['))
      throw InputError.at(where, `"${item}" is not a host name or address (with an optional :port)`);
    if (inv.hosts.has(parsed.host)) continue;
    const entry = ensureHost(inv, parsed.host);
    ungrouped.hosts.add(parsed.host);
    if (parsed.port !== undefined)
      entry.inline.push({ label: where.file, values: { ansible_port: parsed.port }, locate: () => where });
  }
  computeDepths(inv);
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

/**
 * Every file of an inventory folder, as Ansible reads one: not hidden, not a backup, not of an
 * extension Ansible ignores there (INVENTORY_IGNORE_EXTS: an `.ini` or `.cfg` in the folder is
 * not read; give such a file with -i itself).
 */
function inventoryFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter(visible)
    .filter((f) => !IGNORED_EXTS.includes(extname(f)))
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => !isDirectory(f));
}

const IGNORED_EXTS = ['.pyc', '.pyo', '.swp', '.bak', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];

/**
 * A YAML inventory (.yaml, .yml, .json, or a file whose text is a YAML mapping), else an INI
 * one, as Ansible tries its yaml plugin, then its ini plugin.
 */
function addFile(inv: Inventory, file: string, vault: Vault): void {
  if (['.yaml', '.yml', '.json'].includes(extname(file)))
    return addInventoryFile(inv, readYaml(file, undefined, vault));
  let yaml: YamlSource | undefined;
  let refused: InputError | undefined;
  try {
    yaml = readYaml(file, undefined, vault);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    refused = e;
  }
  if (yaml && isPlainObject(yaml.value)) return addInventoryFile(inv, yaml);
  const text = readText(file);
  // A broken YAML inventory without an extension: its YAML errors say more than INI's would.
  if (refused && !/^\s*\[/m.test(text) && /^\s*[\w-]+:\s*$/m.test(text)) throw refused;
  addIniFile(inv, file, parseIniInventory(file, text));
}

/** A file with an INI section header, or YAML's `key:` at the start of a line: meant as an inventory. */
function looksLikeInventory(file: string): boolean {
  try {
    return /^\s*\[[^\]\s]+\]\s*$|^[\w-]+:(\s|$)/m.test(readText(file));
  } catch {
    return false;
  }
}

/** An INI inventory's declarations, applied in the order Ansible's ini plugin applies them. */
function addIniFile(inv: Inventory, file: string, entries: IniEntry[]): void {
  const problems: InputProblem[] = [];
  const at = (line: number): SourceLocation => ({ file, line });
  const layerAt = (line: number, values: Record<string, unknown>): VarLayer => ({
    label: file,
    values,
    locate: () => at(line),
  });
  for (const e of entries) {
    try {
      if (e.kind === 'group') ensureGroup(inv, e.name, undefined);
      else if (e.kind === 'child') {
        if (descends(inv, e.parent, e.child)) throw InputError.at(at(e.line), loopMessage(e.parent, e.child));
        ensureGroup(inv, e.child, e.parent);
      } else if (e.kind === 'var') {
        const group = ensureGroup(inv, e.group, undefined);
        if (e.name === 'ansible_group_priority')
          group.priority = groupPriority(() => at(e.line), e.value, 'ansible_group_priority');
        else group.inline.push(layerAt(e.line, { [e.name]: e.value }));
      } else {
        const vars = Object.keys(e.vars).length > 0 ? e.vars : undefined;
        addHosts(inv, ensureGroup(inv, e.group, undefined), e.key, e.key, (values) => layerAt(e.line, values), vars);
      }
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new InputError(problems);
}

function addInventoryFile(inv: Inventory, src: YamlSource): void {
  if (src.value === null || src.value === undefined) return;
  const problems = checkSchema(inventorySchema, src.value, src.locate);
  if (problems.length > 0) throw new InputError(problems);
  for (const [name, body] of Object.entries(src.value as Record<string, unknown>)) {
    addGroup(inv, src, name, body, undefined, [name]);
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
  // Ansible refuses a group that would contain itself ("recursive dependency loop"); the depth
  // that orders group_vars has no meaning then.
  if (parent && parent !== name && descends(inv, parent, name))
    throw InputError.at(src.locate(path), loopMessage(parent, name), path.join('.'));
  const group = ensureGroup(inv, name, parent);
  if (!isPlainObject(body)) return;
  if (isPlainObject(body.vars)) {
    const { ansible_group_priority: priority, ...vars } = body.vars;
    // As Ansible's Group.set_variable: a setting of the group, not one of its variables.
    if (priority !== undefined)
      group.priority = groupPriority(
        () => src.locate([...path, 'vars', 'ansible_group_priority']),
        priority,
        [...path, 'vars', 'ansible_group_priority'].join('.'),
      );
    group.inline.push(layer(src, vars, [...path, 'vars']));
  }
  for (const [key, hostVars] of Object.entries(isPlainObject(body.hosts) ? body.hosts : {})) {
    const at = [...path, 'hosts', key];
    addHosts(
      inv,
      group,
      key,
      at.join('.'),
      (values) => layer(src, values, at),
      isPlainObject(hostVars) ? hostVars : undefined,
    );
  }
  for (const [child, childBody] of Object.entries(isPlainObject(body.children) ? body.children : {})) {
    addGroup(inv, src, child, childBody, name, [...path, 'children', child]);
  }
}

const loopMessage = (parent: string, child: string): string =>
  `group "${child}" is a child of "${parent}", which is already among its own children: groups cannot contain themselves`;

/**
 * The hosts a host key stands for (`w1`, `w1:2222`, `[2001:db8::1]:22`, `w[1:3]`), put in the
 * group with the key's variables (`layerOf` says where they were written, YAML or INI).
 */
function addHosts(
  inv: Inventory,
  group: InventoryGroup,
  key: string,
  keyPath: string,
  layerOf: (values: Record<string, unknown>) => VarLayer,
  vars: Record<string, unknown> | undefined,
): void {
  const parsed = parseAddress(key) ?? { host: key };
  let hosts: string[];
  try {
    hosts = expandHostRange(parsed.host);
  } catch (e) {
    if (!(e instanceof HostRangeError)) throw e;
    // Located only on error: locating a YAML key parses the file again with positions.
    throw InputError.at(layerOf({}).locate([]), `host "${key}": ${e.message}`, keyPath);
  }
  for (const host of hosts) {
    group.hosts.add(host);
    const entry = ensureHost(inv, host);
    // `w1:2222` sets ansible_port below the host's own variables, as Ansible's Host(port) does.
    if (parsed.port !== undefined) entry.inline.push(layerOf({ ansible_port: parsed.port }));
    if (!vars) continue;
    const added = layerOf(vars);
    checkSameAddress(host, entry.inline, added);
    entry.inline.push(added);
  }
}

function groupPriority(where: () => SourceLocation, value: unknown, keyPath: string): number {
  const n = typeof value === 'string' && /^-?[0-9]+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw InputError.at(
      where(),
      'ansible_group_priority: expected a whole number (groups of the same depth: the higher wins)',
      keyPath,
    );
  return n;
}

/** Whether `group` is `ancestor` or among its children, at any depth. */
function descends(inv: Inventory, group: string, ancestor: string): boolean {
  const seen = new Set<string>();
  const walk = (g: string): boolean => {
    if (g === group) return true;
    if (seen.has(g)) return false;
    seen.add(g);
    return [...(inv.groups.get(g)?.children ?? [])].some(walk);
  };
  return walk(ancestor);
}

/**
 * The same host defined again with another address: in Ansible the last definition wins, so a
 * copy-pasted line sends the whole host's configuration to the other machine. Refused, both named.
 */
function checkSameAddress(host: string, earlier: VarLayer[], added: VarLayer): void {
  const address = added.values.ansible_host;
  if (address === undefined) return;
  const before = earlier.find((l) => l.values.ansible_host !== undefined && l.values.ansible_host !== address);
  if (!before) return;
  const where = formatLocation(before.locate(['ansible_host']));
  throw InputError.at(
    added.locate(['ansible_host']),
    `host "${host}" is already defined with another ansible_host at ${where}: one host, one address (rename one of them if they are two machines)`,
    'ansible_host',
  );
}

function layer(src: YamlSource, values: Record<string, unknown>, prefix: (string | number)[]): VarLayer {
  return { label: src.file, values, locate: (p) => src.locate([...prefix, ...p]) };
}

function ensureGroup(inv: Inventory, name: string, parent: string | undefined): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = {
      name,
      depth: 0,
      priority: 1,
      parents: new Set(),
      children: new Set(),
      hosts: new Set(),
      inline: [],
      files: [],
      playFiles: [],
    };
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
    h = { name, inline: [], files: [], playFiles: [] };
    inv.hosts.set(name, h);
  }
  return h;
}

/**
 * As Ansible's reconcile: hosts in no group but `all` go into `ungrouped`, and a host listed in
 * `ungrouped` that another group holds leaves it.
 */
function assignUngrouped(inv: Inventory): void {
  const ungrouped = ensureGroup(inv, 'ungrouped', 'all');
  const grouped = new Set(
    [...inv.groups.values()].filter((g) => g.name !== 'all' && g.name !== 'ungrouped').flatMap((g) => [...g.hosts]),
  );
  for (const h of [...ungrouped.hosts]) if (grouped.has(h)) ungrouped.hosts.delete(h);
  for (const h of inv.hosts.keys()) if (!grouped.has(h)) ungrouped.hosts.add(h);
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
function addVarsDirs(inv: Inventory, base: string, vault: Vault, into: 'files' | 'playFiles'): InputProblem[] {
  const problems: InputProblem[] = [];
  const attach = (dir: string, kind: 'group' | 'host'): void => {
    if (!existsSync(dir)) return;
    const known = (name: string): boolean => (kind === 'group' ? inv.groups.has(name) : inv.hosts.has(name));
    // Other files (notes.txt) are not for an entity: Ansible looks up entities' names only.
    const names = new Set(
      readdirSync(dir)
        .filter(visible)
        .filter((e) => /\.(ya?ml|json)$/.test(e) || !extname(e) || known(e) || isDirectory(join(dir, e)))
        .map((entry) => entry.replace(/\.(ya?ml|json)$/, '')),
    );
    for (const name of [...names].sort()) {
      const target = kind === 'group' ? inv.groups.get(name) : inv.hosts.get(name);
      // As Ansible's host_group_vars: NAME, NAME.yml, NAME.yaml, NAME.json, in that order; a folder read whole.
      const present = VARS_EXT.map((x) => join(dir, name + x)).filter((f) => existsSync(f) || isDanglingLink(f));
      const [full, ...ignored] = present;
      if (!full) continue;
      if (ignored.length > 0) {
        // Ansible reads the first it finds and ignores the rest without a word.
        problems.push({
          location: { file: ignored[0] ?? full },
          message: `${kind}_vars for "${name}" is both ${present.map((f) => basename(f)).join(' and ')}: Ansible reads only ${basename(full)} and ignores the rest; keep one (move the variables into it)`,
        });
        continue;
      }
      const files = isDirectory(full) ? varsFilesIn(full) : [full];
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
          if (isPlainObject(src.value)) target[into].push(layer(src, src.value, []));
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
