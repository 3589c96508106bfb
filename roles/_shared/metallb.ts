import type { Vars } from '../l2-or-bgp/variables.gen.ts';

/** MetalLB variables as the roles read them: generated from the l2-or-bgp role's schema, which owns them. */
export type MetallbVars = Vars;
export type Pool = Vars['metallb_pools'][number];
export type L2Advertisement = Vars['metallb_l2_advertisements'][number];
export type BgpPeer = Vars['metallb_bgp_peers'][number];
export type BfdProfile = Vars['metallb_bfd_profiles'][number];
export type BgpAdvertisement = Vars['metallb_bgp_advertisements'][number];

/** Peer fields only FRR-based speakers implement (MetalLB's native BGP rejects them). */
export const FRR_ONLY_PEER_FIELDS = ['bfdProfile', 'keepaliveTime', 'connectTime', 'enableGracefulRestart'] as const;

/** Labels on every object the l2-or-bgp role creates: how it finds what to prune. */
export const OWNER_LABELS = { 'app.kubernetes.io/managed-by': 'play', 'play.role': 'l2-or-bgp' };

/** The CRDs MetalLB's manifests install, which its objects need established. */
export const METALLB_CRDS = [
  'bfdprofiles',
  'bgpadvertisements',
  'bgppeers',
  'communities',
  'ipaddresspools',
  'l2advertisements',
].map((c) => `${c}.metallb.io`);
