// The benchmark's two inventories for one lab: play's (the lab's hosts and connection, plus the
// example BGP cluster's variables) and Ansible's (the same, plus play's role defaults, which
// Ansible has no other way to know, and the MetalLB objects play renders). Ansible reads a
// group_vars folder's files in name order, later ones winning: hence the number prefixes.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadRoleVariables } from '../src/role/variables-schema.ts';
import { renderMetallb } from '../roles/l2-or-bgp/render.ts';
import type { MetallbVars } from '../roles/_shared/metallb.ts';

export const root = join(import.meta.dirname, '..');

export interface BenchInventories {
  play: string;
  ansible: string;
}

/** inventory/example-bgp's variables, for the lab: kube-proxy in nftables mode (no IPVS in its kernel). */
export function clusterVars(): Record<string, unknown> {
  const example = parse(readFileSync(join(root, 'inventory/example-bgp/group_vars/all.yaml'), 'utf8')) as Record<string, unknown>;
  const { ansible_user: _user, ...vars } = example;
  return { ...vars, kube_proxy_mode: 'nftables' };
}

function roleDefaults(): Record<string, unknown> {
  const roles = readdirSync(join(root, 'roles')).filter((r) => !r.startsWith('_'));
  return Object.assign({}, ...roles.map((r) => loadRoleVariables(join(root, 'roles', r, 'variables.yaml')).defaults.values));
}

/** Writes both inventories under `<labDir>/bench/` from the lab's generated inventory. */
export function writeInventories(labInventory: string, labDir: string): BenchInventories {
  const out = join(labDir, 'bench');
  rmSync(out, { recursive: true, force: true });
  const cluster = clusterVars();
  const play = join(out, 'play-inventory');
  const ansible = join(out, 'ansible-inventory');
  for (const dir of [play, ansible]) {
    mkdirSync(join(dir, 'group_vars', 'all'), { recursive: true });
    cpSync(join(labInventory, 'hosts.yaml'), join(dir, 'hosts.yaml'));
    cpSync(join(labInventory, 'group_vars/all.yaml'), join(dir, 'group_vars/all/20-lab.yaml'));
    writeFileSync(join(dir, 'group_vars/all/10-cluster.yaml'), stringify(cluster));
  }
  const merged = { ...roleDefaults(), ...cluster, ...(parse(readFileSync(join(labInventory, 'group_vars/all.yaml'), 'utf8')) as Record<string, unknown>) };
  writeFileSync(join(ansible, 'group_vars/all/00-play-defaults.yaml'), `# play's role defaults (roles/*/variables.yaml)\n${stringify(roleDefaults())}`);
  const objects = renderMetallb(merged as unknown as MetallbVars);
  // Outside the inventory folder: Ansible would try to read it as inventory.
  const objectsFile = join(out, 'metallb-objects.yaml');
  writeFileSync(objectsFile, objects.map((o) => stringify(o)).join('---\n'));
  writeFileSync(join(ansible, 'group_vars/all/30-bench.yaml'), stringify({ bench_metallb_objects_file: objectsFile }));
  return { play, ansible };
}
