import { createHash } from 'node:crypto';
import type { ClusterFacts, EdgeFacts, KubePod, NodeFacts } from '../facts.ts';
import { findingsOn, type Finding } from '../findings.ts';
import { nodesOf, type Intended } from '../intended.ts';
import { serviceReachChecks } from './service-ports.ts';
import { loadBalancers, podReady, readyEndpointNodes, serviceIps, serviceName, speakersByNode } from './kube.ts';

/** Findings about one edge router. */
type Edge = ReturnType<typeof findingsOn>;

/** BGP mode, read on each edge router: a session and (with BFD) a BFD session per node, and each Service address routed to the nodes that should announce it. */
export function bgpChecks(
  intended: Intended,
  edges: EdgeFacts[],
  c: ClusterFacts | undefined,
  nodes: NodeFacts[] = [],
): Finding[] {
  const out: Finding[] = [];
  const speakers = c ? speakersByNode(c, intended.namespace) : new Map<string, KubePod>();
  for (const edge of edges) {
    const at = findingsOn('bgp', edge.host);
    if (edge.error !== undefined) {
      out.push(
        at.fail(
          'bgpd answers',
          [edge.error],
          `FRR's bgpd is not running on ${edge.host}: no node can announce anything`,
          `systemctl restart frr on ${edge.host} (and check bgpd=yes in /etc/frr/daemons); or rerun: play site.yaml -i INVENTORY --role frr-edge`,
        ),
      );
      continue;
    }
    const peer = intended.peers.find((p) => p.peerAddress === intended.address[edge.host]);
    for (const node of nodesOf(intended)) {
      const addr = intended.address[node] ?? node;
      const n = edge.neighbors[addr];
      const check = `BGP session with ${node} (${addr})`;
      if (n?.state === 'Established')
        out.push(
          at.ok(check, [
            `${addr} Established${n.peerUptime ? ` for ${n.peerUptime}` : ''}, ${n.pfxRcd ?? 0} prefixes received`,
          ]),
        );
      else {
        const evidence = [n ? `${addr} ${n.state}` : `${addr} is not a neighbor on ${edge.host}`];
        const k3s = nodes.find((x) => x.host === node);
        const password = passwordOnEdge(peer?.password, edge.passwordDigests[addr]);
        const why = sessionDown(edge.host, node, addr, n !== undefined, k3s, speakers.get(node), password);
        out.push(at.fail(check, [...evidence, ...why.evidence], why.cause, why.fix));
      }
      if (peer?.bfdProfile && n?.state === 'Established') {
        const b = edge.bfd.find((x) => x.peer === addr);
        if (b?.status === 'up') out.push(at.ok(`BFD with ${node}`, [`${addr} up (profile ${peer.bfdProfile})`]));
        else
          out.push(
            at.fail(
              `BFD with ${node}`,
              [b ? `${addr} ${b.status}` : `no BFD peer ${addr}`],
              `the BGP session is up but BFD is not: a failed node is noticed only after the hold time (${peer.holdTime ?? '90s'})`,
              `check UDP 3784 is open between ${addr} and ${edge.host} and that MetalLB runs its FRR-based speaker (metallb-frr.yaml or frr-k8s)`,
            ),
          );
      }
    }
    out.push(...upstreamChecks(intended, edge, at));
    if (c) out.push(...routeChecks(intended, edge, c, speakers, at), ...serviceReachChecks(intended, edge, c, nodes));
  }
  return out;
}

/**
 * The password FRR runs with for a neighbor against the one intended, by their hashes: whether
 * they match, and an evidence line saying so (which side has none, never either value).
 */
function passwordOnEdge(
  intended: string | undefined,
  runningDigest: string | undefined,
): { same: boolean; evidence: string } {
  const want = intended === undefined ? undefined : createHash('sha256').update(intended).digest('hex');
  if (want === runningDigest)
    return {
      same: true,
      evidence: want ? 'FRR runs with the intended MD5 password' : 'no MD5 password on either side',
    };
  if (want === undefined)
    return { same: false, evidence: 'FRR runs with an MD5 password for it; metallb_bgp_peers has none' };
  if (runningDigest === undefined)
    return { same: false, evidence: 'FRR runs with no MD5 password for it; metallb_bgp_peers has one' };
  return { same: false, evidence: "FRR's MD5 password for it differs from metallb_bgp_peers' (neither is shown)" };
}

/** Why a node's session with the edge is down, from what else is known about the node and the edge. */
function sessionDown(
  edgeHost: string,
  node: string,
  addr: string,
  isNeighbor: boolean,
  k3s: NodeFacts | undefined,
  speaker: KubePod | undefined,
  password: { same: boolean; evidence: string },
): { evidence: string[]; cause: string; fix: string } {
  if (!isNeighbor)
    return {
      evidence: [],
      cause: `${edgeHost}'s FRR has no neighbor ${addr}: its frr.conf does not list the node`,
      fix: 'rerun: play site.yaml -i INVENTORY --role frr-edge',
    };
  if (k3s && k3s.active !== 'active')
    return {
      evidence: [`${k3s.unit} on ${node}: ${k3s.active}`],
      cause: `K3s is not running on ${node}, and MetalLB's speaker with it`,
      fix: `systemctl start ${k3s.unit} on ${node}`,
    };
  if (!speaker || !podReady(speaker))
    return {
      evidence: [`no ready speaker on ${node}`],
      cause: `MetalLB's speaker on ${node} is not running, so nothing connects`,
      fix: `see the speaker on ${node} (metallb checks above)`,
    };
  const passwordEvidence = `${edgeHost}'s running config, neighbor ${addr}: ${password.evidence}`;
  if (!password.same)
    return {
      evidence: [passwordEvidence],
      cause: `the MD5 password differs between ${edgeHost}'s running FRR and metallb_bgp_peers: segments signed with another key are dropped silently, so no session comes up`,
      fix: `systemctl reload frr on ${edgeHost} puts frr.conf's password back (one set in vtysh lives only in the running config); if frr.conf differs too, rerun: play site.yaml -i INVENTORY --role frr-edge`,
    };
  return {
    evidence: [passwordEvidence],
    cause: `the speaker on ${node} runs and ${edgeHost} has the intended password, but no session comes up: TCP 179 is filtered between them, or the speaker's own password (its BGPPeer's Secret) differs`,
    fix: `check the firewall allows TCP 179 from ${addr} (play site.yaml -i INVENTORY --role firewall --check --diff); compare the cluster's BGPPeer and Secret with play's (play site.yaml -i INVENTORY --role l2-or-bgp --check --diff)`,
  };
}

/** Each Service address routed on the edge to exactly the nodes that should announce it. */
function routeChecks(
  intended: Intended,
  edge: EdgeFacts,
  c: ClusterFacts,
  speakers: Map<string, KubePod>,
  at: Edge,
): Finding[] {
  // Nodes whose speaker is down cannot announce (reported with the sessions); the others should.
  const announcing = nodesOf(intended).filter((h) => {
    const p = speakers.get(h);
    return p !== undefined && podReady(p);
  });
  return loadBalancers(c).flatMap((s) => {
    const local = s.spec.externalTrafficPolicy === 'Local';
    const wantedFrom = local ? readyEndpointNodes(c, s).filter((h) => announcing.includes(h)) : announcing;
    const want = wantedFrom.map((h) => intended.address[h] ?? h).sort();
    return serviceIps(s).map((ip) => {
      const have = [...(edge.routes[`${ip}/32`] ?? [])].sort();
      const check = `route to ${serviceName(s)} ${ip}`;
      const evidence = [
        `next hops: ${have.join(', ') || '(no route)'}`,
        `expected: ${want.join(', ') || '(none)'}${local ? ' (nodes with ready endpoints and a ready speaker)' : ' (nodes with a ready speaker)'}`,
      ];
      if (have.join() === want.join()) return at.ok(check, evidence);
      if (have.length === 0)
        return at.fail(
          check,
          evidence,
          `${edge.host} did not learn ${ip}: no BGPAdvertisement for its pool, the sessions are down, or the edge's prefix list refuses it`,
          `play site.yaml -i INVENTORY --role l2-or-bgp --role frr-edge --check --diff shows what differs`,
        );
      return at.fail(
        check,
        evidence,
        'the next hops differ from the nodes that should announce the address (a session down, or a speaker announcing without ready endpoints)',
        'see the sessions above; k3s kubectl get endpointslices for the Service',
      );
    });
  });
}

/**
 * The article's "BGP up but no traffic": the pools must reach the provider. Per upstream router
 * (frr_upstreams), its session and every pool block advertised to it.
 */
function upstreamChecks(intended: Intended, edge: EdgeFacts, at: Edge): Finding[] {
  return (intended.upstreams[edge.host] ?? []).map((u) => {
    const check = `pools announced upstream to ${u.address}`;
    const state = edge.neighbors[u.address]?.state ?? 'not configured';
    const sent = edge.advertised[u.address] ?? [];
    const missing = intended.aggregates.filter((p) => !sent.includes(p));
    const evidence = [
      `${u.address} (AS ${u.asn}): ${state}`,
      `advertised: ${sent.join(', ') || '(nothing)'}`,
      `pools: ${intended.aggregates.join(', ') || '(none in IPv4)'}`,
    ];
    if (state !== 'Established')
      return at.fail(
        check,
        evidence,
        `the session with the provider's router ${u.address} is ${state}: nothing is announced upstream, so traffic to the pools never reaches the edge`,
        `compare address, AS ${u.asn} and password with the provider's (frr_upstreams); rerun: play site.yaml -i INVENTORY --role frr-edge --check --diff`,
      );
    if (missing.length > 0)
      return at.fail(
        check,
        evidence,
        `${edge.host} does not announce ${missing.join(', ')} to ${u.address}: the blackhole route or network statement for the pool, or the UPSTREAM-OUT prefix list, is not as play writes it`,
        `play site.yaml -i INVENTORY --role frr-edge --check --diff shows what differs`,
      );
    return at.ok(check, evidence);
  });
}
