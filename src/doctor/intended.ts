import type { CompiledRun } from '../engine/compile.ts';
import { hostsOfGroup, type Inventory } from '../inventory/model.ts';
import type { Vars as MetallbVars } from '../../roles/l2-or-bgp/variables.gen.ts';
import type { Vars as EdgeVars } from '../../roles/frr-edge/variables.gen.ts';
import type { Vars as K3sVars } from '../../roles/k3s-config/variables.gen.ts';
import type { Vars as FirewallVars } from '../../roles/firewall/variables.gen.ts';
import { ipv4Cidrs } from '../../roles/_shared/ip.ts';

/** What the cluster should be, as site.yaml's roles would make it: what doctor checks against. */
export interface Intended {
  mode: MetallbVars['metallb_mode'];
  namespace: string;
  servers: string[];
  agents: string[];
  edges: string[];
  /** Each host's address (ansible_host, as the roles read it). */
  address: Record<string, string>;
  pools: MetallbVars['metallb_pools'];
  peers: MetallbVars['metallb_bgp_peers'];
  /** Per edge, the provider's routers it announces the pools to (frr_upstreams). */
  upstreams: Record<string, EdgeVars['frr_upstreams']>;
  /** The pools' IPv4 blocks, as the edge announces them upstream. */
  aggregates: string[];
  /** Per K3s node, the kube-proxy mode k3s-config gives it. */
  kubeProxyMode: Record<string, K3sVars['kube_proxy_mode']>;
  /** Per K3s node, the LoadBalancer ports its firewall opens on the pools' addresses. */
  firewallServicePorts: Record<string, FirewallVars['firewall_service_ports']>;
}

export const nodesOf = (i: Intended): string[] => [...i.servers, ...i.agents];

export function intendedState(compiled: CompiledRun, inv: Inventory): Intended | undefined {
  const servers = hostsOfGroup(inv, 'k3s_server');
  const first = servers[0];
  const metallb =
    first === undefined ? undefined : (compiled.roleVars.get('l2-or-bgp')?.get(first) as MetallbVars | undefined);
  if (!metallb) return undefined;
  const edges = metallb.metallb_mode === 'bgp' ? hostsOfGroup(inv, 'edge') : [];
  const upstreams = Object.fromEntries(
    edges.map((e) => [e, (compiled.roleVars.get('frr-edge')?.get(e) as EdgeVars | undefined)?.frr_upstreams ?? []]),
  );
  const kubeProxyMode: Intended['kubeProxyMode'] = {};
  const firewallServicePorts: Intended['firewallServicePorts'] = {};
  const agents = hostsOfGroup(inv, 'k3s_agent');
  for (const host of [...servers, ...agents]) {
    const k3s = compiled.roleVars.get('k3s-config')?.get(host) as K3sVars | undefined;
    if (k3s) kubeProxyMode[host] = k3s.kube_proxy_mode;
    const firewall = compiled.roleVars.get('firewall')?.get(host) as FirewallVars | undefined;
    if (firewall) firewallServicePorts[host] = firewall.firewall_service_ports;
  }
  const address: Record<string, string> = {};
  for (const [host, vars] of compiled.hostVars) address[host] = String(vars.ansible_host ?? host);
  return {
    mode: metallb.metallb_mode,
    namespace: metallb.metallb_namespace,
    servers,
    agents,
    edges,
    address,
    pools: metallb.metallb_pools,
    peers: metallb.metallb_mode === 'bgp' ? metallb.metallb_bgp_peers : [],
    upstreams,
    aggregates: ipv4Cidrs((metallb.metallb_pools ?? []).flatMap((p) => p.addresses)),
    kubeProxyMode,
    firewallServicePorts,
  };
}
