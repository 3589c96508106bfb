import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** One generated inventory and what to ask of it. */
export interface Case {
  dir: string;
  patterns: string[];
  /** [play pattern, --limit] */
  limits: [string, string][];
  /** The variable names the inventory sets (compared for every host). */
  vars: string[];
  /** A playbook's folder with group_vars/ and host_vars/ of its own. */
  playbook_dir?: string;
}

/** A small seeded generator (mulberry32): the same seed writes the same inventories. */
export function random(seed: number): {
  int: (n: number) => number;
  pick: <T>(xs: readonly T[]) => T;
  chance: (p: number) => boolean;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { int, pick: (xs) => xs[int(xs.length)] as (typeof xs)[number], chance: (p) => next() < p };
}

const VARS = ['v_a', 'v_b', 'v_c', 'v_d'];

interface Group {
  name: string;
  parents: string[];
  children: string[];
  hosts: string[];
  inline: Record<string, unknown>;
  file?: Record<string, unknown>;
  priority?: number;
}

/**
 * An inventory of a few groups (a tree, sometimes a group with two parents, sometimes a group
 * written at the top level), hosts in one or two groups or none (host ranges and `name:port`
 * among them), variables set inline and in group_vars/host_vars files, and group priorities.
 * Ansible orders a group's hosts by Python's set order where two groups of one level both bring
 * new children (group.py, _walk_relationship): such inventories are not generated, since no
 * answer is Ansible's own there.
 */
export function generateCase(seed: number): Case {
  const r = random(seed);
  for (;;) {
    const made = attempt(r);
    if (made) return made;
  }
}

function attempt(r: ReturnType<typeof random>): Case | undefined {
  const groups: Group[] = [];
  const count = 2 + r.int(5);
  for (let i = 0; i < count; i++) {
    const parents: string[] = [];
    if (i > 0 && r.chance(0.7)) parents.push((groups[r.int(i)] as Group).name);
    if (parents.length > 0 && i > 1 && r.chance(0.15)) {
      const other = (groups[r.int(i)] as Group).name;
      if (!parents.includes(other)) parents.push(other);
    }
    const g: Group = { name: `g${i + 1}`, parents, children: [], hosts: [], inline: {} };
    if (r.chance(0.2)) g.priority = 1 + r.int(3);
    groups.push(g);
    parents.forEach((p) => groups.find((x) => x.name === p)?.children.push(g.name));
  }
  const byName = new Map(groups.map((g) => [g.name, g]));
  const hostKeys: string[] = [];
  const hostCount = 1 + r.int(7);
  for (let i = 0; i < hostCount; i++) hostKeys.push(`h${i + 1}`);
  if (r.chance(0.2)) hostKeys.push(r.chance(0.5) ? 'r[1:3]' : 'r[08:10]');
  if (r.chance(0.15)) hostKeys.push('p1:2222');
  const ungrouped: string[] = [];
  for (const key of hostKeys) {
    if (r.chance(0.15)) {
      ungrouped.push(key);
      continue;
    }
    const first = groups[r.int(groups.length)] as Group;
    first.hosts.push(key);
    if (r.chance(0.3)) {
      const second = groups[r.int(groups.length)] as Group;
      if (!second.hosts.includes(key)) second.hosts.push(key);
    }
  }
  if (ambiguous(groups, byName)) return undefined;

  const value = (where: string): string => where;
  const someVars = (where: string): Record<string, unknown> =>
    Object.fromEntries(VARS.filter(() => r.chance(0.35)).map((k) => [k, value(where)]));
  const allInline = someVars('inline all');
  const allFile = r.chance(0.6) ? someVars('file all') : undefined;
  for (const g of groups) {
    g.inline = someVars(`inline ${g.name}`);
    if (r.chance(0.5)) g.file = someVars(`file ${g.name}`);
  }
  const hostInline = new Map(hostKeys.map((k) => [k, r.chance(0.4) ? someVars(`inline host ${k}`) : undefined]));
  const hostFiles = new Map(
    hostKeys
      .filter((k) => !k.includes('[') && !k.includes(':'))
      .map((k) => [k, r.chance(0.3) ? someVars(`file host ${k}`) : undefined]),
  );

  // The YAML: each group written in full under its first parent, named again under a second one.
  const written = new Set<string>();
  const hostWritten = new Set<string>();
  const hostsBody = (keys: string[]): Record<string, unknown> | undefined => {
    if (keys.length === 0) return undefined;
    return Object.fromEntries(
      keys.map((k) => {
        const first = !hostWritten.has(k);
        hostWritten.add(k);
        const vars = first ? hostInline.get(k) : undefined;
        return [k, vars && Object.keys(vars).length > 0 ? vars : null];
      }),
    );
  };
  const body = (g: Group): Record<string, unknown> | null => {
    if (written.has(g.name)) return null;
    written.add(g.name);
    const vars = { ...g.inline, ...(g.priority === undefined ? {} : { ansible_group_priority: g.priority }) };
    const children = g.children.map((c) => byName.get(c) as Group);
    const out: Record<string, unknown> = {};
    if (Object.keys(vars).length > 0) out.vars = vars;
    const h = hostsBody(g.hosts);
    if (h) out.hosts = h;
    if (children.length > 0) out.children = Object.fromEntries(children.map((c) => [c.name, body(c)]));
    return out;
  };
  const roots = groups.filter((g) => g.parents.length === 0);
  const atTop = roots.filter(() => r.chance(0.3));
  const underAll = roots.filter((g) => !atTop.includes(g));
  const all: Record<string, unknown> = {};
  if (Object.keys(allInline).length > 0) all.vars = allInline;
  const loose = hostsBody(ungrouped);
  if (loose) all.hosts = loose;
  if (underAll.length > 0) all.children = Object.fromEntries(underAll.map((g) => [g.name, body(g)]));
  const doc: Record<string, unknown> = {};
  const allFirst = r.chance(0.5);
  if (allFirst) doc.all = all;
  for (const g of atTop) doc[g.name] = body(g);
  if (!allFirst) doc.all = all;

  const dir = mkdtempSync(join(tmpdir(), 'play-differential-'));
  if (r.chance(0.35)) writeFileSync(join(dir, 'hosts'), ini(groups, ungrouped, hostInline, allInline));
  else writeFileSync(join(dir, 'hosts.yaml'), stringify(doc));
  mkdirSync(join(dir, 'group_vars'));
  mkdirSync(join(dir, 'host_vars'));
  if (allFile) writeFileSync(join(dir, 'group_vars', 'all.yaml'), stringify(allFile));
  for (const g of groups)
    if (g.file && Object.keys(g.file).length > 0)
      writeFileSync(join(dir, 'group_vars', `${g.name}${r.pick(['.yaml', '.yml', ''])}`), stringify(g.file));
  for (const [k, vars] of hostFiles)
    if (vars && Object.keys(vars).length > 0) writeFileSync(join(dir, 'host_vars', `${k}.yaml`), stringify(vars));

  let playbookDir: string | undefined;
  if (r.chance(0.3)) {
    playbookDir = mkdtempSync(join(tmpdir(), 'play-differential-playbook-'));
    mkdirSync(join(playbookDir, 'group_vars'));
    mkdirSync(join(playbookDir, 'host_vars'));
    for (const g of [{ name: 'all' }, ...groups])
      if (r.chance(0.4))
        writeFileSync(join(playbookDir, 'group_vars', `${g.name}.yml`), stringify(someVars(`play file ${g.name}`)));
    for (const k of hostFiles.keys())
      if (r.chance(0.3)) writeFileSync(join(playbookDir, 'host_vars', k), stringify(someVars(`play file host ${k}`)));
  }

  const names = [...groups.map((g) => g.name), 'all', 'ungrouped'];
  const hostNames = hostKeys.flatMap((k) =>
    k === 'r[1:3]' ? ['r1', 'r2', 'r3'] : k === 'r[08:10]' ? ['r08', 'r09', 'r10'] : [k.split(':')[0] as string],
  );
  const term = (): string =>
    r.pick([
      () => r.pick(names),
      () => r.pick(hostNames),
      () => `${r.pick(names)}[${r.int(4) - 1}]`,
      () => `${r.pick(names)}[${r.int(2)}:${r.pick(['', String(r.int(3))])}]`,
      () => r.pick(['h*', 'g*', '?1', 'r*', '*']),
      () => r.pick(['~h', '~g[12]', '~1', '~r0']),
    ])();
  const pattern = (): string => {
    const parts = [term()];
    for (let i = r.int(3); i > 0; i--) parts.push(`${r.pick(['', '', '&', '!'])}${term()}`);
    if (r.chance(0.1)) return parts.map((p, i) => (i === 0 && r.chance(0.5) ? `!${p}` : p)).join(',');
    return parts.join(r.chance(0.5) ? ':' : ',');
  };
  const patterns = [...new Set(['all', ...names, ...Array.from({ length: 12 }, pattern)])];
  const limits = Array.from({ length: 4 }, (): [string, string] => [
    r.pick(['all', ...names]),
    r.pick([`!${r.pick(hostNames)}`, pattern(), `${r.pick(names)}:!${r.pick(hostNames)}`]),
  ]);
  return {
    dir,
    patterns,
    limits,
    vars: [...VARS, 'ansible_port'],
    ...(playbookDir ? { playbook_dir: playbookDir } : {}),
  };
}

/** The same inventory in Ansible's INI form (a file without extension, which Ansible reads as INI). */
function ini(
  groups: Group[],
  ungrouped: string[],
  hostInline: Map<string, Record<string, unknown> | undefined>,
  allInline: Record<string, unknown>,
): string {
  const seen = new Set<string>();
  const hostLine = (key: string): string => {
    const vars = seen.has(key) ? undefined : hostInline.get(key);
    seen.add(key);
    return [key, ...Object.entries(vars ?? {}).map(([k, v]) => `${k}="${String(v)}"`)].join(' ');
  };
  const lines = ungrouped.map(hostLine);
  if (Object.keys(allInline).length > 0)
    lines.push('[all:vars]', ...Object.entries(allInline).map(([k, v]) => `${k}=${String(v)}`));
  for (const g of groups) {
    lines.push(`[${g.name}]`, ...g.hosts.map(hostLine));
    const vars = { ...g.inline, ...(g.priority === undefined ? {} : { ansible_group_priority: g.priority }) };
    if (Object.keys(vars).length > 0)
      lines.push(`[${g.name}:vars]`, ...Object.entries(vars).map(([k, v]) => `${k}=${String(v)}`));
    if (g.children.length > 0) lines.push(`[${g.name}:children]`, ...g.children);
  }
  return `# generated\n${lines.join('\n')}\n`;
}

/** Whether some group's host order would depend on Python's set order in Ansible. */
function ambiguous(groups: Group[], byName: Map<string, Group>): boolean {
  const roots = groups.filter((g) => g.parents.length === 0).map((g) => g.name);
  const all: Group = { name: 'all', parents: [], children: ['ungrouped', ...roots], hosts: [], inline: {} };
  const lookup = (n: string): Group | undefined => (n === 'all' ? all : byName.get(n));
  for (const start of [all, ...groups]) {
    const seen = new Set([start.name, ...start.children]);
    let level = [start, ...start.children.map(lookup).filter((g): g is Group => g !== undefined)];
    while (level.length > 0) {
      const bringing = level.filter((g) => g.children.some((c) => !seen.has(c)));
      if (bringing.length > 1) return true;
      const next = bringing.flatMap((g) => g.children.filter((c) => !seen.has(c)));
      next.forEach((c) => seen.add(c));
      level = next.map(lookup).filter((g): g is Group => g !== undefined);
    }
  }
  return false;
}
