import type { Remote } from '../transport/remote.ts';
import { shellQuote } from '../role/api.ts';
import { KUBECTL } from '../../roles/_shared/k3s-paths.ts';
import {
  LOG_WINDOW_MINUTES,
  type ArpFacts,
  type ClusterFacts,
  type EdgeFacts,
  type Facts,
  type MetallbLogLine,
  type NodeFacts,
} from './facts.ts';
import { nodesOf, type Intended } from './intended.ts';
import { loadBalancers, serviceIps } from './checks/kube.ts';

/** Read-only commands on the hosts, each with its parser: what doctor knows of the live state. */

const MARK = '@@play-doctor@@';

/** Runs several commands in one round trip; their outputs, in order. */
async function sections(remote: Remote, commands: string[]): Promise<string[]> {
  const script = commands.map((c) => `echo ${MARK}; ${c} 2>&1`).join('\n');
  const r = await remote.exec(script);
  return r.stdout.split(`${MARK}\n`).slice(1);
}

const json = <T>(text: string | undefined, what: string): T => {
  try {
    return JSON.parse(text ?? '') as T;
  } catch {
    throw new Error(`${what}: ${(text ?? '').trim().split('\n').slice(0, 3).join(' ') || 'no output'}`);
  }
};

const items = <T>(text: string | undefined, what: string): T[] => json<{ items?: T[] }>(text, what).items ?? [];

async function clusterFacts(server: Remote, namespace: string): Promise<ClusterFacts> {
  const kinds = [
    'nodes',
    'pods -A',
    'services -A',
    'endpointslices -A',
    `ipaddresspools -n ${namespace}`,
    `l2advertisements -n ${namespace}`,
    `bgpadvertisements -n ${namespace}`,
    'poddisruptionbudgets -A',
    'events -A --field-selector involvedObject.kind=Service',
  ];
  const logs = (component: string): string =>
    `${KUBECTL} logs -n ${shellQuote(namespace)} -l app=metallb,component=${component} -c ${component} --prefix --since=${LOG_WINDOW_MINUTES}m --max-log-requests=64`;
  const out = await sections(server, [
    ...kinds.map((k) => `${KUBECTL} get ${k} -o json`),
    `{ ${logs('controller')} && ${logs('speaker')} && echo ${LOGS_READ}; }`,
  ]);
  const get = <T>(i: number): T[] => items<T>(out[i], `kubectl get ${kinds[i]}`);
  return {
    from: server.host,
    nodes: get(0),
    pods: get(1),
    services: get(2),
    endpointSlices: get(3),
    pools: get(4),
    l2Advertisements: get(5),
    bgpAdvertisements: get(6),
    pdbs: get(7),
    events: get(8),
    logs: parseLogs(out[kinds.length] ?? ''),
  };
}

const LOGS_READ = '@@play-logs-read@@';

/** `kubectl logs --prefix` output: `[pod/NAME/CONTAINER] LINE`; the mark says both reads succeeded. */
export function parseLogs(text: string): ClusterFacts['logs'] {
  if (!text.includes(LOGS_READ)) return { unreadable: text.trim().split('\n').slice(-3).join(' ') || 'no output' };
  const lines: MetallbLogLine[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\[pod\/([^/\]]+)\/([^\]]+)\] (.*)$/.exec(raw);
    if (!m) continue;
    const [, pod = '', container = '', line = ''] = m;
    let fields: { level?: unknown; msg?: unknown } = {};
    try {
      fields = JSON.parse(line) as typeof fields;
    } catch {
      // Not every line is JSON (a panic's stack): kept, without a level.
    }
    lines.push({
      pod,
      container,
      level: typeof fields.level === 'string' ? fields.level : undefined,
      msg: typeof fields.msg === 'string' ? fields.msg : undefined,
      text: line,
    });
  }
  return { lines };
}

async function nodeFacts(remote: Remote, unit: string): Promise<NodeFacts> {
  const [active, links] = await sections(remote, [
    `systemctl is-active ${unit}`,
    'for f in /sys/class/net/*/address; do d=${f%/address}; echo "${d##*/} $(cat $f)"; done',
  ]);
  const macs: Record<string, string> = {};
  for (const line of (links ?? '').split('\n')) {
    const [iface, mac] = line.trim().split(' ');
    if (iface && mac && mac !== '00:00:00:00:00:00') macs[mac.toLowerCase()] = iface;
  }
  return { host: remote.host, unit, active: (active ?? '').trim() || 'unknown', macs };
}

async function edgeFacts(remote: Remote): Promise<EdgeFacts> {
  // VTYSH_HISTFILE: vtysh would otherwise append to root's ~/.history_frr, and doctor writes nothing.
  const vtysh = (command: string): string => `VTYSH_HISTFILE=/dev/null vtysh -c '${command}'`;
  const [bgpd, summary, bfd, routes] = await sections(remote, [
    'pgrep -x bgpd >/dev/null && echo running || echo stopped',
    vtysh('show bgp ipv4 unicast summary json'),
    vtysh('show bfd peers json'),
    vtysh('show ip route bgp json'),
  ]);
  const base: EdgeFacts = { host: remote.host, neighbors: {}, bfd: [], routes: {} };
  if ((bgpd ?? '').trim() !== 'running') return { ...base, error: 'pgrep -x bgpd: not running' };
  try {
    const peers =
      json<{ peers?: Record<string, { state: string; pfxRcd?: number; peerUptime?: string }> }>(
        summary,
        'show bgp summary',
      ).peers ?? {};
    const bfdPeers = (() => {
      try {
        return json<{ peer: string; status: string }[]>(bfd, 'show bfd peers');
      } catch {
        return []; // bfdd not running: no BFD sessions, which the checks report where BFD is wanted
      }
    })();
    const table = json<
      Record<string, { protocol: string; selected?: boolean; nexthops: { ip?: string; active?: boolean }[] }[]>
    >(routes, 'show ip route bgp');
    const routed: Record<string, string[]> = {};
    for (const [prefix, entries] of Object.entries(table)) {
      routed[prefix] = entries
        .filter((e) => e.protocol === 'bgp' && e.selected)
        .flatMap((e) => e.nexthops.filter((n) => n.active && n.ip).map((n) => n.ip ?? ''));
    }
    return {
      ...base,
      neighbors: peers,
      bfd: bfdPeers.map((b) => ({ peer: b.peer, status: b.status })),
      routes: routed,
    };
  } catch (e) {
    return { ...base, error: (e as Error).message };
  }
}

/** Asks who answers ARP for each address from a host on the segment: arping where installed, else ping and the neighbor table. */
async function arpFacts(remote: Remote, ips: string[]): Promise<ArpFacts> {
  const probe = (ip: string): string => {
    const q = shellQuote(ip);
    return `dev=$(ip -o route get ${q} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); if command -v arping >/dev/null; then echo arping; arping -c 2 -w 3 -I "$dev" ${q}; else echo neigh; ip neigh flush to ${q} >/dev/null 2>&1; ping -c 1 -W 1 ${q} >/dev/null; ip neigh show to ${q}; fi`;
  };
  const out = await sections(remote, ips.map(probe));
  const answers: Record<string, string[]> = {};
  let method: ArpFacts['method'] = 'arping';
  ips.forEach((ip, i) => {
    const text = out[i] ?? '';
    if (text.startsWith('neigh')) method = 'neighbor-table';
    const macs = [...text.matchAll(/\[([0-9A-Fa-f:]{17})\]|lladdr ([0-9a-f:]{17})/g)].map((m) =>
      (m[1] ?? m[2] ?? '').toLowerCase(),
    );
    answers[ip] = [...new Set(macs)].sort();
  });
  return { from: remote.host, answers, method };
}

/** Everything the checks read, gathered from all hosts at once. */
export async function gatherFacts(
  intended: Intended,
  remote: (host: string) => Promise<Remote>,
  arpFrom: string | undefined,
): Promise<Facts> {
  const facts: Facts = { nodes: [], edges: [], unreachable: {} };
  const on = async (host: string, read: (r: Remote) => Promise<void>): Promise<void> => {
    let r: Remote;
    try {
      r = await remote(host);
    } catch (e) {
      facts.unreachable[host] = (e as Error).message;
      return;
    }
    await read(r);
  };
  const server = intended.servers[0];
  await Promise.all([
    server === undefined
      ? undefined
      : on(server, async (r) => {
          try {
            facts.cluster = await clusterFacts(r, intended.namespace);
          } catch (e) {
            facts.clusterError = (e as Error).message;
          }
        }),
    ...nodesOf(intended).map((host) =>
      on(
        host,
        async (r) => void facts.nodes.push(await nodeFacts(r, intended.servers.includes(host) ? 'k3s' : 'k3s-agent')),
      ),
    ),
    ...intended.edges.map((host) => on(host, async (r) => void facts.edges.push(await edgeFacts(r)))),
  ]);
  if (intended.mode === 'layer2' && facts.cluster && arpFrom) {
    const ips = loadBalancers(facts.cluster).flatMap(serviceIps);
    if (ips.length > 0) await on(arpFrom, async (r) => void (facts.arp = await arpFacts(r, ips)));
  }
  return facts;
}
