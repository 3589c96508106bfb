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
 * Which of MetalLB's speakers the lab runs: the native one (metallb-native.yaml, the lab's
 * default), or the FRR-based one (metallb-frr.yaml: FRR beside each speaker, with BFD).
 */
export type LabSpeaker = 'native' | 'frr';

/**
 * An example's variables minus its connection user (the lab has its own) and with kube-proxy in
 * nftables mode (the lab's kernel has no IPVS). For the native speaker, without what only
 * MetalLB's FRR-based speakers do (BFD, keepaliveTime): its webhook refuses them.
 */
export function labExampleVars(example: string, speaker: LabSpeaker = 'native'): Record<string, unknown> {
  const vars = parse(readFileSync(join(projectRoot, 'inventory', example, 'group_vars', 'all.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  const { ansible_user: _user, ...cluster } = vars;
  if (speaker === 'frr') return { ...cluster, kube_proxy_mode: 'nftables', metallb_speaker_mode: 'frr' };
  const peers = ((cluster.metallb_bgp_peers ?? []) as Record<string, unknown>[]).map((p) =>
    Object.fromEntries(Object.entries(p).filter(([k]) => !FRR_ONLY.includes(k))),
  );
  return {
    ...cluster,
    kube_proxy_mode: 'nftables',
    ...(cluster.metallb_bgp_peers ? { metallb_bgp_peers: peers, metallb_bfd_profiles: [] } : {}),
  };
}

/**
 * Writes `out` (replacing it): the lab inventory's hosts.yaml, and group_vars/all/ with the
 * example's variables before the lab's own. Files in a group_vars folder are read in name order,
 * later ones winning (by play as by Ansible): hence the number prefixes. Given MetalLB's
 * metallb-frr.yaml (the lab's components.metallbFrrManifest), the example runs on the FRR-based
 * speaker, BFD and all; else on the native one.
 */
export function writeLabExampleInventory(
  labInventory: string,
  out: string,
  example: string,
  frrManifest?: string,
): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'group_vars', 'all'), { recursive: true });
  cpSync(join(labInventory, 'hosts.yaml'), join(out, 'hosts.yaml'));
  const speaker: LabSpeaker = frrManifest ? 'frr' : 'native';
  const note = speaker === 'frr' ? "MetalLB's FRR-based speaker" : "MetalLB's native speaker, so no BFD";
  writeFileSync(
    join(out, 'group_vars/all/10-cluster.yaml'),
    `# inventory/${example}'s variables, for the lab (no IPVS in its kernel; ${note})\n${stringify(labExampleVars(example, speaker))}`,
  );
  cpSync(join(labInventory, 'group_vars/all.yaml'), join(out, 'group_vars/all/20-lab.yaml'));
  if (frrManifest)
    writeFileSync(
      join(out, 'group_vars/all/30-speaker.yaml'),
      `# MetalLB's release manifest for the FRR-based speaker, built by the lab\n${stringify({ metallb_manifest_file: frrManifest })}`,
    );
}
