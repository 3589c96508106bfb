import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Topology } from './topology.ts';

export interface InventoryVars {
  privateKey: string;
  knownHosts: string;
  k3sStandin: string;
  metallbManifest: string;
}

/** Ansible's YAML inventory layout: all.children.GROUP.hosts.HOST, nested groups under children. */
export function inventoryHosts(topology: Topology): Record<string, unknown> {
  const groups: Record<string, { hosts?: Record<string, unknown>; children?: Record<string, object> }> = {};
  for (const host of topology.hosts) {
    for (const group of host.groups) {
      const entry = (groups[group] ??= {});
      (entry.hosts ??= {})[host.name] = { ansible_host: host.address };
    }
  }
  for (const [parent, children] of Object.entries(topology.groupChildren)) {
    const entry = (groups[parent] ??= {});
    entry.children = Object.fromEntries(children.map((c) => [c, {}]));
  }
  return { all: { children: groups } };
}

export function inventoryVars(vars: InventoryVars): Record<string, unknown> {
  return {
    ansible_user: 'root',
    ansible_ssh_private_key_file: vars.privateKey,
    ansible_ssh_common_args: `-o UserKnownHostsFile=${vars.knownHosts} -o StrictHostKeyChecking=yes`,
    // K3s cannot be downloaded here: the k3s role installs the lab's K3s-shaped shell around the
    // real Kubernetes components (components.ts) through its airgap path.
    k3s_airgap_binary: vars.k3sStandin,
    // Nor can MetalLB's release manifest: this is MetalLB's own metallb-native.yaml, from the
    // module the lab builds its binaries from.
    metallb_manifest_file: vars.metallbManifest,
  };
}

export async function writeInventory(dir: string, topology: Topology, vars: InventoryVars): Promise<void> {
  await mkdir(join(dir, 'group_vars'), { recursive: true });
  const header = '# Written by `npm run lab:up`; rewritten on every boot of the lab.\n';
  await writeFile(join(dir, 'hosts.yaml'), header + stringify(inventoryHosts(topology)));
  await writeFile(join(dir, 'group_vars', 'all.yaml'), header + stringify(inventoryVars(vars)));
}
