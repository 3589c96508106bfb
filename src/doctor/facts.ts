/**
 * What `play doctor` reads off the live cluster, as plain data: gathered over SSH by
 * gather.ts, judged by the checks (pure functions, tested with fixtures).
 */

/** The parts of Kubernetes objects the checks read. */
export interface KubeMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
/** A node's taint, or a pod's toleration of one (Kubernetes' own field names). */
export interface KubeTaint {
  key?: string;
  value?: string;
  effect?: string;
}
export interface KubeToleration extends KubeTaint {
  operator?: string;
}
export interface KubeNode {
  metadata: KubeMeta;
  spec?: { taints?: KubeTaint[]; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}
export interface KubePod {
  metadata: KubeMeta;
  spec: {
    nodeName?: string;
    containers: { name: string; readinessProbe?: unknown }[];
    tolerations?: KubeToleration[];
  };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      state?: Record<string, { reason?: string; message?: string }>;
    }[];
  };
}
export interface KubeService {
  metadata: KubeMeta;
  spec: {
    type?: string;
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
    loadBalancerIP?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    ports?: { name?: string; port: number; protocol?: string; targetPort?: number | string }[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}
export interface KubeEndpointSlice {
  metadata: KubeMeta;
  endpoints?: { addresses: string[]; nodeName?: string; conditions?: { ready?: boolean } }[];
}
export interface KubePool {
  metadata: KubeMeta;
  spec: { addresses: string[]; autoAssign?: boolean; avoidBuggyIPs?: boolean };
}
export interface KubeAdvertisement {
  metadata: KubeMeta;
  spec?: { ipAddressPools?: string[]; ipAddressPoolSelectors?: unknown[] };
}
export interface KubePdb {
  metadata: KubeMeta;
  spec?: { selector?: { matchLabels?: Record<string, string> } };
}
export interface KubeEvent {
  involvedObject: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  message?: string;
  type?: string;
}

/** A CustomResourceDefinition, as far as doctor reads it. */
export interface KubeCrd {
  metadata: KubeMeta;
  status?: { conditions?: { type: string; status: string }[] };
}

export interface ClusterFacts {
  /** The server kubectl ran on. */
  from: string;
  /** MetalLB's CRDs that exist (METALLB_CRDS asked for by name). */
  crds: KubeCrd[];
  nodes: KubeNode[];
  pods: KubePod[];
  services: KubeService[];
  endpointSlices: KubeEndpointSlice[];
  pools: KubePool[];
  l2Advertisements: KubeAdvertisement[];
  bgpAdvertisements: KubeAdvertisement[];
  pdbs: KubePdb[];
  events: KubeEvent[];
  /** MetalLB's log lines of the last LOG_WINDOW_MINUTES, or why they could not be read. */
  logs: { lines: MetallbLogLine[] } | { unreadable: string };
}

/** How far back doctor reads MetalLB's logs: errors older than this are history. */
export const LOG_WINDOW_MINUTES = 15;

/** One line of a MetalLB pod's log (`kubectl logs --prefix`): MetalLB logs JSON, one object a line. */
export interface MetallbLogLine {
  pod: string;
  container: string;
  /** When it was logged (kubectl logs --timestamps), RFC 3339. */
  at?: string;
  level?: string;
  msg?: string;
  /** The error's own text, where the line carries one. */
  error?: string;
  /** The line as logged, for the evidence. */
  text: string;
}

export interface NodeFacts {
  host: string;
  /** The K3s unit this node runs (k3s on servers, k3s-agent on agents) and what systemd says of it. */
  unit: string;
  active: string;
  /** MAC address → interface, for telling which node answers ARP. */
  macs: Record<string, string>;
  /** What the running kube-proxy says of itself (its /configz on 127.0.0.1:10249), or why it could not be read. */
  kubeProxy: KubeProxyFacts;
}

export type KubeProxyFacts = { mode: string; strictARP: boolean } | { unreadable: string };

export interface EdgeFacts {
  host: string;
  /** Why vtysh could not be read (bgpd not running, FRR not installed), if so. */
  error?: string;
  /** BGP neighbors by address. */
  neighbors: Record<string, { state: string; pfxRcd?: number; peerUptime?: string }>;
  bfd: { peer: string; status: string }[];
  /** Selected BGP routes: prefix → next hops. */
  routes: Record<string, string[]>;
  /** Per upstream neighbor (frr_upstreams): the prefixes the edge advertises to it. */
  advertised: Record<string, string[]>;
  /**
   * SHA-256 of the MD5 password FRR runs with for each neighbor, by address (absent: none).
   * Hashed on the edge, so the password never leaves it; compared with the intended one's hash.
   */
  passwordDigests: Record<string, string>;
  /**
   * TCP connections the edge opened to each LoadBalancer address and port, several per port (each
   * from a new source port, so ECMP spreads them over the next hops); read once the Services are
   * known.
   */
  serviceReach?: ServiceReach[];
}

/** Connections from an edge to one Service address and port, in the order they were tried. */
export interface ServiceReach {
  to: string;
  port: number;
  results: Reach['result'][];
}

/** Who answers ARP for each Service address, asked from a host on the nodes' segment. */
export interface ArpFacts {
  from: string;
  /** Service IP → MACs that answered (empty: nobody). */
  answers: Record<string, string[]>;
  /** How it asked: arping, or a ping then the neighbor table (which holds one answer only). */
  method: 'arping' | 'neighbor-table';
}

/**
 * A real TCP connection attempt from one host to another's port: `open` (something answered),
 * `refused` (the host answered, nothing listens), `filtered` (no answer: dropped on the way).
 */
export interface Reach {
  from: string;
  to: string;
  port: number;
  /** What the port is for, e.g. `kubelet`. */
  what: string;
  result: 'open' | 'refused' | 'filtered';
}

export interface Facts {
  /** Connection attempts between the cluster's hosts, on the ports the firewall must let through. */
  reach: Reach[];
  cluster?: ClusterFacts;
  /** Why the cluster could not be read, if so. */
  clusterError?: string;
  nodes: NodeFacts[];
  edges: EdgeFacts[];
  arp?: ArpFacts;
  /** Hosts that could not be reached, and why. */
  unreachable: Record<string, string>;
}
