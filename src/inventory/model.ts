import type { VarLayer } from './variables.ts';

export interface InventoryGroup {
  name: string;
  /** Distance from `all`, which decides precedence: deeper (more specific) groups win. */
  depth: number;
  parents: Set<string>;
  children: Set<string>;
  /** Hosts listed directly in this group. */
  hosts: Set<string>;
  /** Inline `vars:` then `group_vars/NAME`, in that order. */
  varLayers: VarLayer[];
}

export interface InventoryHost {
  name: string;
  /** Inline host vars then `host_vars/NAME`. */
  varLayers: VarLayer[];
}

export interface Inventory {
  /** The directory or file given with `-i`, for messages. */
  source: string;
  /** Hosts in the order the inventory first names them. */
  hosts: Map<string, InventoryHost>;
  groups: Map<string, InventoryGroup>;
}

/** Every group a host belongs to, directly or through parents, `all` included. */
export function groupsOf(inv: Inventory, host: string): InventoryGroup[] {
  const found = new Set<string>();
  const visit = (name: string): void => {
    if (found.has(name)) return;
    found.add(name);
    for (const p of inv.groups.get(name)?.parents ?? []) visit(p);
  };
  for (const g of inv.groups.values()) if (g.hosts.has(host)) visit(g.name);
  found.add('all');
  return [...found]
    .map((n) => inv.groups.get(n))
    .filter((g): g is InventoryGroup => g !== undefined)
    .sort((a, b) => a.depth - b.depth || a.name.localeCompare(b.name));
}

/** All hosts of a group including those of its descendants, in inventory order. */
export function hostsOfGroup(inv: Inventory, group: string): string[] {
  return [...membersOfGroup(inv, group)];
}

/**
 * The same, as one array shared by every caller: every host's roles ask for the cluster's members,
 * worked out once per inventory, and a role may keep what it derives from them by this array.
 */
export function membersOfGroup(inv: Inventory, group: string): readonly string[] {
  const known = membersOf.get(inv) ?? new Map<string, readonly string[]>();
  membersOf.set(inv, known);
  const found = known.get(group) ?? Object.freeze(hostsOfGroupOnce(inv, group));
  known.set(group, found);
  return found;
}

/** An inventory is not changed once loaded. */
const membersOf = new WeakMap<Inventory, Map<string, readonly string[]>>();

function hostsOfGroupOnce(inv: Inventory, group: string): string[] {
  const members = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const g = inv.groups.get(name);
    if (!g) return;
    g.hosts.forEach((h) => members.add(h));
    g.children.forEach(visit);
  };
  if (group === 'all') return [...inv.hosts.keys()];
  visit(group);
  return [...inv.hosts.keys()].filter((h) => members.has(h));
}

/** The variable layers of one host from the inventory, lowest precedence first. */
export function inventoryLayers(inv: Inventory, host: string): VarLayer[] {
  const groupLayers = groupsOf(inv, host).flatMap((g) => g.varLayers);
  return [...groupLayers, ...(inv.hosts.get(host)?.varLayers ?? [])];
}
