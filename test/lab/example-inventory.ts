// The shipped example inventories (inventory/example-bgp, example-l2) as the lab runs them: the
// lab's hosts and connection settings with the example's cluster variables. The demo, the
// benchmark and the integration tests all start from this.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { projectRoot } from './paths.ts';

/** BGPPeer fields only MetalLB's FRR-based speakers take. */
const FRR_ONLY = ['bfdProfile', 'keepaliveTime', 'connectTime', 'enableGracefulRestart'];

/**
 * An example's variables minus its connection user (the lab has its own), kube-proxy in nftables
 * mode (the lab's kernel has no IPVS), and without what only MetalLB's FRR-based speakers do (BFD,
 * keepaliveTime): the lab runs the real MetalLB from metallb-native.yaml, whose webhook refuses them.
 */
export function labExampleVars(example: string): Record<string, unknown> {
  const vars = parse(readFileSync(join(projectRoot, 'inventory', example, 'group_vars', 'all.yaml'), 'utf8')) as Record<string, unknown>;
  const { ansible_user: _user, ...cluster } = vars;
  const peers = ((cluster.metallb_bgp_peers ?? []) as Record<string, unknown>[]).map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => !FRR_ONLY.includes(k))));
  return { ...cluster, kube_proxy_mode: 'nftables', ...(cluster.metallb_bgp_peers ? { metallb_bgp_peers: peers, metallb_bfd_profiles: [] } : {}) };
}

/**
 * Writes `out` (replacing it): the lab inventory's hosts.yaml, and group_vars/all/ with the
 * example's variables before the lab's own. Files in a group_vars folder are read in name order,
 * later ones winning (by play as by Ansible): hence the number prefixes.
 */
export function writeLabExampleInventory(labInventory: string, out: string, example: string): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'group_vars', 'all'), { recursive: true });
  cpSync(join(labInventory, 'hosts.yaml'), join(out, 'hosts.yaml'));
  writeFileSync(join(out, 'group_vars/all/10-cluster.yaml'), `# inventory/${example}'s variables, for the lab (no IPVS in its kernel; MetalLB's native speaker, so no BFD)\n${stringify(labExampleVars(example))}`);
  cpSync(join(labInventory, 'group_vars/all.yaml'), join(out, 'group_vars/all/20-lab.yaml'));
}
