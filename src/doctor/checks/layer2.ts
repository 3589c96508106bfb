import type { ArpFacts, ClusterFacts, NodeFacts } from '../facts.ts';
import { fail, ok, warn, CLUSTER, type Finding } from '../findings.ts';
import type { Intended } from '../intended.ts';
import { loadBalancers, readyEndpointNodes, serviceIps, serviceName } from './kube.ts';

/** Layer2 mode: exactly one node answers ARP for each Service address, and (externalTrafficPolicy Local) it holds a ready endpoint. */
export function layer2Checks(
  _intended: Intended,
  c: ClusterFacts,
  nodes: NodeFacts[],
  arp: ArpFacts | undefined,
): Finding[] {
  if (!arp)
    return [
      warn(
        'layer2',
        CLUSTER,
        'who answers ARP',
        ["no host outside the cluster on the nodes' segment to ask from"],
        'ARP answers were not checked',
        'add a host on the same segment (e.g. the edge) to the inventory',
      ),
    ];
  const owner = (mac: string): string | undefined => nodes.find((n) => n.macs[mac.toLowerCase()] !== undefined)?.host;
  const out: Finding[] = [];
  for (const s of loadBalancers(c)) {
    for (const ip of serviceIps(s)) {
      const macs = arp.answers[ip] ?? [];
      const who = macs.map((m) => `${m} (${owner(m) ?? 'not a node'})`);
      const check = `ARP for ${serviceName(s)} ${ip}`;
      const asked = `asked from ${arp.from} with ${arp.method === 'arping' ? 'arping' : 'ping + ip neigh'}`;
      if (macs.length === 0) {
        out.push(
          fail(
            'layer2',
            arp.from,
            check,
            [asked, 'no answer'],
            "nobody answers ARP for the address: the speakers are down, the pool is outside the nodes' segment, or the provider filters ARP (common on VDS: ask for the address to be routed to you, or use BGP)",
            "check the speakers (metallb checks), that the pool is in the nodes' subnet, and run tcpdump -ni eth0 arp on a node while asking",
          ),
        );
        continue;
      }
      if (macs.length > 1) {
        out.push(
          fail(
            'layer2',
            arp.from,
            check,
            [asked, `answers: ${who.join(', ')}`],
            'more than one node answers (ARP flux): hosts answer ARP for addresses on other interfaces',
            'set net.ipv4.conf.all.arp_ignore=1 and arp_announce=2 (sysctl role) and, with IPVS, strictARP; rerun: play site.yaml -i INVENTORY --role sysctl --role k3s-config',
          ),
        );
        continue;
      }
      const node = owner(macs[0] ?? '');
      const local = s.spec.externalTrafficPolicy === 'Local' ? readyEndpointNodes(c, s) : undefined;
      if (!node)
        out.push(
          fail(
            'layer2',
            arp.from,
            check,
            [asked, `answer: ${who.join(', ')}`],
            'a host that is not a cluster node answers for the address: an address conflict',
            "take the pool's addresses off other hosts, or choose a free range for metallb_pools",
          ),
        );
      else if (local && !local.includes(node))
        out.push(
          fail(
            'layer2',
            arp.from,
            check,
            [asked, `answer: ${who.join(', ')}`, `ready endpoints on: ${local.join(', ') || '(none)'}`],
            `${node} answers but holds no ready endpoint: with externalTrafficPolicy: Local the traffic is dropped there`,
            'make an endpoint ready on it, or check the speakers see the EndpointSlices',
          ),
        );
      else out.push(ok('layer2', arp.from, check, [asked, `answer: ${who.join(', ')}`]));
    }
  }
  return out;
}
