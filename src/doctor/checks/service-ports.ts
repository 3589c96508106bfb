import type { Vars as FirewallVars } from '../../../roles/firewall/variables.gen.ts';
import type { ClusterFacts, EdgeFacts, KubeService, NodeFacts } from '../facts.ts';
import { CLUSTER, fail, findingsOn, ok, warn, type Finding } from '../findings.ts';
import { nodesOf, type Intended } from '../intended.ts';
import { loadBalancers, serviceIps, serviceName } from './kube.ts';
import { K3S_NFT } from '../../resources/nft-command.ts';

/**
 * Service traffic and the host firewall. kube-proxy in nftables (or iptables) mode rewrites a
 * Service's address to a pod's before the packet is routed, so it is forwarded and never meets
 * the firewall's input chain; in IPVS mode the address is local to every node (kube-ipvs0), so the
 * packet is delivered to the node and the input chain must accept its port (firewall_service_ports).
 */

type ServicePort = NonNullable<KubeService['spec']['ports']>[number];
type Protocol = 'tcp' | 'udp';

const protocolOf = (p: ServicePort): Protocol | undefined =>
  ({ TCP: 'tcp', UDP: 'udp' })[p.protocol ?? 'TCP'] as Protocol | undefined;

/** Whether a firewall_service_ports entry accepts this port and protocol on the pools' addresses. */
function opens(entry: FirewallVars['firewall_service_ports'][number], port: number, protocol: Protocol): boolean {
  if ((entry.protocol ?? 'tcp') !== protocol) return false;
  const [from = 0, to = from] = String(entry.port).split('-').map(Number);
  return from <= port && port <= to;
}

/** Those of `hosts` whose firewall does not accept the port on the pools' addresses. */
function closedOn(intended: Intended, hosts: string[], port: number, protocol: Protocol): string[] {
  return hosts.filter((h) => !(intended.firewallServicePorts[h] ?? []).some((e) => opens(e, port, protocol)));
}

/** kube-proxy's mode on a node: as it runs (its /configz), else as k3s-config sets it. */
function proxyMode(intended: Intended, nodes: NodeFacts[], host: string): string | undefined {
  const running = nodes.find((n) => n.host === host)?.kubeProxy;
  return running && 'mode' in running ? running.mode : intended.kubeProxyMode[host];
}

const portText = (port: number, protocol: Protocol): string => `${port}/${protocol}`;
const fixFor = (port: number, protocol: Protocol): string =>
  `add { port: ${port}${protocol === 'udp' ? ', protocol: udp' : ''} } to firewall_service_ports, then: play site.yaml -i INVENTORY --role firewall`;

/**
 * Those of `hosts` running kube-proxy in IPVS mode whose firewall drops a Service port: why a
 * connection there gets no answer, if that is why.
 */
function droppedByFirewall(
  intended: Intended,
  nodes: NodeFacts[],
  hosts: string[],
  port: number,
  protocol: Protocol,
): { cause: string; fix: string } | undefined {
  const ipvs = closedOn(intended, hosts, port, protocol).filter((h) => proxyMode(intended, nodes, h) === 'ipvs');
  if (ipvs.length === 0) return undefined;
  return {
    cause: `with kube-proxy in IPVS mode on ${ipvs.join(', ')} the Service's address is local to the node, so its packets meet the firewall's input chain, which does not accept ${portText(port, protocol)} (firewall_service_ports)`,
    fix: fixFor(port, protocol),
  };
}

/** Each LoadBalancer Service port against the nodes' firewalls. */
export function servicePortChecks(intended: Intended, c: ClusterFacts, nodes: NodeFacts[]): Finding[] {
  return loadBalancers(c).flatMap((s) =>
    (s.spec.ports ?? []).flatMap((p) => {
      const protocol = protocolOf(p);
      if (protocol === undefined) return [];
      const check = `${serviceName(s)} port ${portText(p.port, protocol)} let through the nodes' firewall`;
      const closed = closedOn(intended, nodesOf(intended), p.port, protocol);
      if (closed.length === 0)
        return [
          ok('service', CLUSTER, check, [`firewall_service_ports opens ${portText(p.port, protocol)} on every node`]),
        ];
      const evidence = [
        `not in firewall_service_ports on ${closed.join(', ')}`,
        ...closed.map((h) => `${h}: kube-proxy ${proxyMode(intended, nodes, h) ?? 'mode unknown'}`),
      ];
      const dropped = droppedByFirewall(intended, nodes, closed, p.port, protocol);
      if (dropped) return [fail('service', CLUSTER, check, evidence, dropped.cause, dropped.fix)];
      return [
        warn(
          'service',
          CLUSTER,
          check,
          evidence,
          `${portText(p.port, protocol)} gets through only because kube-proxy forwards it to the pod before the firewall's input chain; with kube-proxy in IPVS mode the firewall would drop it`,
          fixFor(p.port, protocol),
        ),
      ];
    }),
  );
}

/**
 * A Service address the edge routes must take connections: tried from the edge itself, several
 * times per port so that ECMP sends them to every next hop. A route is not a request answered.
 */
export function serviceReachChecks(
  intended: Intended,
  edge: EdgeFacts,
  c: ClusterFacts,
  nodes: NodeFacts[],
): Finding[] {
  const at = findingsOn('bgp', edge.host);
  return loadBalancers(c).flatMap((s) =>
    serviceIps(s).flatMap((ip) => {
      const hops = edge.routes[`${ip}/32`] ?? [];
      if (hops.length === 0) return []; // the route check says so
      return (s.spec.ports ?? [])
        .filter((p) => protocolOf(p) === 'tcp')
        .flatMap((p) => {
          const tried = edge.serviceReach?.find((r) => r.to === ip && r.port === p.port);
          if (!tried || tried.results.length === 0) return [];
          const check = `${serviceName(s)} ${ip}:${p.port} accepts TCP from ${edge.host}`;
          const count = (r: string): number => tried.results.filter((x) => x === r).length;
          const evidence = [
            `${count('open')} of ${tried.results.length} connections accepted, ${count('filtered')} unanswered, ${count('refused')} refused`,
            `next hops: ${hops.join(', ')}`,
          ];
          if (count('open') === tried.results.length) return [at.ok(check, evidence)];
          const hopNodes = nodesOf(intended).filter((h) => hops.includes(intended.address[h] ?? h));
          const dropped = droppedByFirewall(intended, nodes, hopNodes, p.port, 'tcp');
          if (count('filtered') > 0 && dropped) return [at.fail(check, evidence, dropped.cause, dropped.fix)];
          if (count('filtered') > 0)
            return [
              at.fail(
                check,
                evidence,
                `${edge.host} routes ${ip} to ${hopNodes.join(', ') || hops.join(', ')}, but connections get no answer there: kube-proxy on a next hop does not forward it (not running, or no rules for the Service yet), or a filter drops it on the way`,
                `on ${hopNodes.join(', ') || 'the next hops'}: ${K3S_NFT} list ruleset | grep ${ip} shows kube-proxy's rules for it (none: is K3s running?); rerun play doctor`,
              ),
            ];
          return [
            at.fail(
              check,
              evidence,
              `a next hop refuses connections to ${ip}:${p.port}: nothing listens behind it (the pods do not listen on targetPort ${p.targetPort ?? p.port}, or kube-proxy there has no endpoint for it)`,
              `k3s kubectl -n ${s.metadata.namespace ?? 'default'} get endpointslices -l kubernetes.io/service-name=${s.metadata.name}; check the container listens on the targetPort`,
            ),
          ];
        });
    }),
  );
}
