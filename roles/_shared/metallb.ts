/** MetalLB variables as the roles read them (the l2-or-bgp role's schema defines them). */
export interface Pool {
  name: string;
  addresses: string[];
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
}

export interface L2Advertisement {
  name: string;
  pools?: string[];
  interfaces?: string[];
  nodeSelectors?: Record<string, unknown>[];
}

export interface BgpPeer {
  name: string;
  myASN: number;
  peerASN: number;
  peerAddress: string;
  peerPort?: number;
  sourceAddress?: string;
  holdTime?: string;
  keepaliveTime?: string;
  connectTime?: string;
  ebgpMultiHop?: boolean;
  password?: string;
  bfdProfile?: string;
  routerID?: string;
  nodeSelectors?: Record<string, unknown>[];
  enableGracefulRestart?: boolean;
}

export interface BfdProfile {
  name: string;
  receiveInterval?: number | string;
  transmitInterval?: number | string;
  echoInterval?: number | string;
  echoMode?: boolean;
  passiveMode?: boolean;
  minimumTtl?: number;
  detectMultiplier?: number;
}

export interface BgpAdvertisement {
  name: string;
  pools?: string[];
  aggregationLength?: number;
  aggregationLengthV6?: number;
  localPref?: number;
  communities?: string[];
  peers?: string[];
  nodeSelectors?: Record<string, unknown>[];
}

export interface MetallbVars {
  metallb_mode: 'layer2' | 'bgp';
  metallb_namespace: string;
  metallb_pools: Pool[];
  metallb_l2_advertisements: L2Advertisement[];
  metallb_bgp_peers: BgpPeer[];
  metallb_bfd_profiles: BfdProfile[];
  metallb_bgp_advertisements: BgpAdvertisement[];
  metallb_node_network: string | null;
}

/** Peer fields only FRR-based speakers implement (MetalLB's native BGP rejects them). */
export const FRR_ONLY_PEER_FIELDS = ['bfdProfile', 'keepaliveTime', 'connectTime', 'enableGracefulRestart'] as const;

/** Labels on every object the l2-or-bgp role creates: how it finds what to prune. */
export const OWNER_LABELS = { 'app.kubernetes.io/managed-by': 'play', 'play.role': 'l2-or-bgp' };
