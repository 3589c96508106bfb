import type { VarLayer } from './variables.ts';

export interface InventoryGroup {
  name: string;
  /** Distance from `all`, which decides precedence: deeper (more specific) groups win. */
  depth: number;
  /** `ansible_group_priority` (default 1): between groups of the same depth, the higher wins. */
  priority: number;
  parents: Set<string>;
  /** In the order the inventory lists them. */
  children: Set<string>;
  /** Hosts listed directly in this group, in the order listed. */
  hosts: Set<string>;
  /** `vars:` in the inventory's own files. */
  inline: VarLayer[];
  /** `group_vars/NAME` beside the inventory. */
  files: VarLayer[];
  /** `group_vars/NAME` beside the playbook (when that is another folder). */
  playFiles: VarLayer[];
}

export interface InventoryHost {
  name: string;
  /** Variables given where the inventory lists the host (every place, in order). */
  inline: VarLayer[];
  /** `host_vars/NAME` beside the inventory. */
  files: VarLayer[];
  /** `host_vars/NAME` beside the playbook (when that is another folder). */
  playFiles: VarLayer[];
}

export interface Inventory {
  /** The directory or file given with `-i`, for messages. */
  source: string;
  /** Hosts in the order the inventory first names them. */
  hosts: Map<string, InventoryHost>;
  /** `all`, `ungrouped`, then the others in the order the inventory first names them. */
  groups: Map<string, InventoryGroup>;
  /** Files of an inventory folder that are no inventory (a key file, notes), skipped as Ansible skips them. */
  skipped?: string[];
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
    .sort(byPrecedence);
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

/** Ansible's order of groups for variables (sort_groups): depth, then priority, then name. */
export function byPrecedence(a: InventoryGroup, b: InventoryGroup): number {
  return a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * A group's hosts in Ansible's order (Group.get_hosts): its own hosts as listed, then its
 * children's, level by level, each level in the order the groups were listed. `k3s_server[0]`
 * is the first server as Ansible picks it. (Where two groups of one level both have children,
 * Ansible orders the next level by Python's set order, which no inventory can rely on; play
 * keeps the listed order.)
 */
function hostsOfGroupOnce(inv: Inventory, group: string): string[] {
  const start = inv.groups.get(group);
  if (!start) return [];
  const ordered = [start];
  const seen = new Set([start.name]);
  let level = [start];
  while (level.length > 0) {
    const next: InventoryGroup[] = [];
    for (const g of level)
      for (const name of g.children) {
        const child = inv.groups.get(name);
        if (!child || seen.has(name)) continue;
        seen.add(name);
        next.push(child);
      }
    ordered.push(...next);
    level = next;
  }
  return [...new Set(ordered.flatMap((g) => [...g.hosts]))];
}

/**
 * The variable layers of one host from the inventory, lowest precedence first, as Ansible's
 * VariableManager stacks them (its default VARIABLE_PRECEDENCE): `all`'s inline vars, the other
 * groups' inline vars, group_vars/all beside the inventory, then beside the playbook, the other
 * groups' group_vars files beside the inventory, then beside the playbook (groups by depth,
 * priority, name), then the host's inline vars, its host_vars beside the inventory, then beside
 * the playbook. An inline `vars:` of a child group therefore loses to group_vars/all.yaml.
 */
export function inventoryLayers(inv: Inventory, host: string): VarLayer[] {
  const groups = groupsOf(inv, host);
  const all = groups.filter((g) => g.name === 'all');
  const others = groups.filter((g) => g.name !== 'all');
  const entry = inv.hosts.get(host);
  return [
    ...all.flatMap((g) => g.inline),
    ...others.flatMap((g) => g.inline),
    ...all.flatMap((g) => g.files),
    ...all.flatMap((g) => g.playFiles),
    ...others.flatMap((g) => g.files),
    ...others.flatMap((g) => g.playFiles),
    ...(entry?.inline ?? []),
    ...(entry?.files ?? []),
    ...(entry?.playFiles ?? []),
  ];
}
