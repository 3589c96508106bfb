import type { Remote } from '../transport/remote.ts';
import { shellQuote } from '../role/api.ts';
import { inSections, sectionsOf } from '../transport/shell.ts';
import { KUBECTL } from '../../roles/_shared/k3s-paths.ts';
import {
  LOG_WINDOW_MINUTES,
  type ArpFacts,
  type ClusterFacts,
  type EdgeFacts,
  type Facts,
  type MetallbLogLine,
  type NodeFacts,
  type Reach,
  type KubeCrd,
  type KubeProxyFacts,
  type ServiceReach,
} from './facts.ts';
import { METALLB_CRDS } from '../../roles/_shared/metallb.ts';
import { nodesOf, type Intended } from './intended.ts';
import { loadBalancers, serviceIps } from './checks/kube.ts';

/** Read-only commands on the hosts, each with its parser: what doctor knows of the live state. */

const MARK = '@@play-doctor@@';

/** Runs several commands in one round trip; their outputs (stderr too), in order. */
async function sections(remote: Remote, commands: string[]): Promise<string[]> {
  const r = await remote.exec(
    inSections(
      MARK,
      commands.map((c) => `${c} 2>&1`),
    ),
  );
  return sectionsOf(MARK, r.stdout);
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
  // --tail=-1: with a label selector kubectl shows only the last 10 lines of each pod otherwise.
  const logs = (component: string): string =>
    `${KUBECTL} logs -n ${shellQuote(namespace)} -l app=metallb,component=${component} -c ${component} --prefix --timestamps --tail=-1 --since=${LOG_WINDOW_MINUTES}m --max-log-requests=64`;
  const out = await sections(server, [
    ...kinds.map((k) => `${KUBECTL} get ${k} -o json`),
    `{ ${logs('controller')} && ${logs('speaker')} && echo ${LOGS_READ}; }`,
    `${KUBECTL} get crd ${METALLB_CRDS.join(' ')} --ignore-not-found -o json`,
  ]);
  const get = <T>(i: number): T[] => items<T>(out[i], `kubectl get ${kinds[i]}`);
  const crds = items<KubeCrd>(out[kinds.length + 1], 'kubectl get crd');
  return {
    from: server.host,
    crds,
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

/** `kubectl logs --prefix --timestamps` output: `[pod/NAME/CONTAINER] TIME LINE`; the mark says both reads succeeded. */
export function parseLogs(text: string): ClusterFacts['logs'] {
  if (!text.includes(LOGS_READ)) return { unreadable: text.trim().split('\n').slice(-3).join(' ') || 'no output' };
  const lines: MetallbLogLine[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\[pod\/([^/\]]+)\/([^\]]+)\] (.*)$/.exec(raw);
    if (!m) continue;
    const [, pod = '', container = '', stamped = ''] = m;
    const ts = /^(\d{4}-\d\d-\d\dT[^ ]+) (.*)$/.exec(stamped);
    const [at, line] = ts ? [ts[1], ts[2] ?? ''] : [undefined, stamped];
    let fields: { level?: unknown; msg?: unknown; error?: unknown } = {};
    try {
      fields = JSON.parse(line) as typeof fields;
    } catch {
      // Not every line is JSON (a panic's stack): kept, without a level.
    }
    lines.push({
      pod,
      container,
      at,
      level: typeof fields.level === 'string' ? fields.level : undefined,
      msg: typeof fields.msg === 'string' ? fields.msg : undefined,
      error: typeof fields.error === 'string' ? fields.error : undefined,
      text: line,
    });
  }
  return { lines };
}

/** A node's K3s unit, its links' MAC addresses, and the connections it should be able to make: one round trip. */
async function nodeFacts(
  remote: Remote,
  unit: string,
  targets: Target[],
): Promise<{ node: NodeFacts; reach: Reach[] }> {
  const [active, links, tried, configz] = await sections(remote, [
    `systemctl is-active ${unit}`,
    'for f in /sys/class/net/*/address; do d=${f%/address}; echo "${d##*/} $(cat $f)"; done',
    connectionAttempts(targets),
    // bash's /dev/tcp again: kube-proxy's own account of its configuration, headers and all.
    `timeout 3 bash -c ${shellQuote(`exec 3<>/dev/tcp/127.0.0.1/${KUBE_PROXY_METRICS_PORT} && printf 'GET /configz HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`)} 2>&1`,
  ]);
  const macs: Record<string, string> = {};
  for (const line of (links ?? '').split('\n')) {
    const [iface, mac] = line.trim().split(' ');
    if (iface && mac && mac !== '00:00:00:00:00:00') macs[mac.toLowerCase()] = iface;
  }
  return {
    node: {
      host: remote.host,
      unit,
      active: (active ?? '').trim() || 'unknown',
      macs,
      kubeProxy: parseConfigz(configz ?? ''),
    },
    reach: reachOf(remote.host, targets, tried ?? ''),
  };
}

/** Where K3s's kube-proxy serves /proxyMode and /configz (its metrics address). */
const KUBE_PROXY_METRICS_PORT = 10249;

/** kube-proxy's /configz answer (an HTTP response): its mode and, for IPVS, strictARP. */
export function parseConfigz(response: string): KubeProxyFacts {
  const [head = '', ...rest] = response.split(/\r?\n\r?\n/);
  const status = /^HTTP\/1\.\d (\d+)/.exec(head)?.[1];
  if (status === undefined)
    return {
      unreadable: `nothing answers on 127.0.0.1:${KUBE_PROXY_METRICS_PORT}${response.trim() ? ` (${response.trim().split('\n')[0]})` : ''}`,
    };
  if (status !== '200') return { unreadable: `127.0.0.1:${KUBE_PROXY_METRICS_PORT}/configz answered HTTP ${status}` };
  try {
    // kube-proxy serves its internal configuration type: Go's field names (Mode, IPVS.StrictARP),
    // not the v1alpha1 file's (mode, ipvs.strictARP). Both are read.
    type Config = { Mode?: string; mode?: string; IPVS?: { StrictARP?: boolean }; ipvs?: { strictARP?: boolean } };
    const body = JSON.parse(rest.join('\n\n')) as Record<string, Config | undefined>;
    const config = body['kubeproxy.config.k8s.io'];
    if (!config) return { unreadable: '/configz has no kubeproxy.config.k8s.io section' };
    // An empty mode is kube-proxy's default on Linux.
    return {
      mode: config.Mode || config.mode || 'iptables',
      strictARP: (config.IPVS?.StrictARP ?? config.ipvs?.strictARP) === true,
    };
  } catch (e) {
    return { unreadable: `/configz is not JSON: ${(e as Error).message}` };
  }
}

async function edgeFacts(remote: Remote, upstreams: string[]): Promise<EdgeFacts> {
  // VTYSH_HISTFILE: vtysh would otherwise append to root's ~/.history_frr, and doctor writes nothing.
  const vtysh = (command: string): string => `VTYSH_HISTFILE=/dev/null vtysh -c ${shellQuote(command)}`;
  const [bgpd, summary, bfd, routes, digests, ...advertised] = await sections(remote, [
    'pgrep -x bgpd >/dev/null && echo running || echo stopped',
    vtysh('show bgp ipv4 unicast summary json'),
    vtysh('show bfd peers json'),
    vtysh('show ip route bgp json'),
    // The running configuration, not frr.conf: a password changed in vtysh is only there.
    `${vtysh('show running-config')} | sed -n 's/^ *neighbor \\([^ ]*\\) password \\(.*\\)$/\\1 \\2/p' | while read -r addr pw; do printf '%s %s\\n' "$addr" "$(printf %s "$pw" | sha256sum | cut -d' ' -f1)"; done`,
    ...upstreams.map((u) => vtysh(`show bgp ipv4 unicast neighbors ${u} advertised-routes json`)),
  ]);
  const passwordDigests = Object.fromEntries(
    (digests ?? '')
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter((f): f is [string, string] => f.length === 2),
  );
  const base: EdgeFacts = { host: remote.host, neighbors: {}, bfd: [], routes: {}, advertised: {}, passwordDigests };
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
      advertised: Object.fromEntries(upstreams.map((u, i) => [u, advertisedPrefixes(advertised[i])])),
    };
  } catch (e) {
    return { ...base, error: (e as Error).message };
  }
}

/** `show bgp ... advertised-routes json`: the prefixes; none when the neighbor is down or unknown (FRR then prints a warning, not JSON). */
function advertisedPrefixes(text: string | undefined): string[] {
  try {
    return Object.keys(
      (JSON.parse(text ?? '') as { advertisedRoutes?: Record<string, unknown> }).advertisedRoutes ?? {},
    );
  } catch {
    return [];
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

type Target = Omit<Reach, 'from' | 'result'>;

/**
 * The connections the cluster needs, tried from each node: every agent to the server's API, the
 * server to every node's kubelet (logs, exec) and to MetalLB's memberlist on every other node.
 * BGP's 179 is not tried: with an MD5 password a plain connection gets no answer whatever the
 * firewall does; the sessions' state says it.
 */
function connectionsFrom(intended: Intended, host: string): Target[] {
  const server = intended.servers[0];
  if (server === undefined) return [];
  const at = (h: string): string => intended.address[h] ?? h;
  if (host !== server) return [{ to: at(server), port: 6443, what: 'Kubernetes API' }];
  return nodesOf(intended)
    .filter((h) => h !== server)
    .flatMap((h) => [
      { to: at(h), port: 10250, what: 'kubelet' },
      { to: at(h), port: 7946, what: "MetalLB's memberlist" },
    ]);
}

/** bash's /dev/tcp: no tool to install; `timeout` tells a drop from a refusal. Prints `TO PORT RC`. */
const tcpAttempt = (to: string, port: number): string =>
  `timeout 3 bash -c ${shellQuote(`: </dev/tcp/${to}/${port}`)} 2>/dev/null; echo "${to} ${port} $?"`;

/** The `TO PORT RC` lines of tcpAttempt, as results by `TO PORT`, in the order printed. */
function attemptResults(out: string): Map<string, Reach['result'][]> {
  const results = new Map<string, Reach['result'][]>();
  for (const [to, port, rc] of out.split('\n').map((l) => l.trim().split(' '))) {
    if (to === undefined || port === undefined || rc === undefined) continue;
    const key = `${to} ${port}`;
    results.set(key, [...(results.get(key) ?? []), rc === '0' ? 'open' : rc === '124' ? 'filtered' : 'refused']);
  }
  return results;
}

function connectionAttempts(targets: Target[]): string {
  return targets.map((t) => tcpAttempt(t.to, t.port)).join('; ');
}

function reachOf(from: string, targets: Target[], out: string): Reach[] {
  const results = attemptResults(out);
  return targets.map((t) => ({ ...t, from, result: results.get(`${t.to} ${t.port}`)?.[0] ?? 'refused' }));
}

/** Every LoadBalancer Service's address and TCP port: what a client connects to. */
function serviceTargets(c: ClusterFacts): { to: string; port: number }[] {
  return loadBalancers(c).flatMap((s) =>
    serviceIps(s).flatMap((to) =>
      (s.spec.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => ({ to, port: p.port })),
    ),
  );
}

/** Connections per Service port, each from a new source port: ECMP sends them down different paths. */
const ATTEMPTS_PER_SERVICE_PORT = 4;

/** Opens TCP connections to each target from the edge, all at once (a drop costs the timeout once). */
async function serviceAttempts(remote: Remote, targets: { to: string; port: number }[]): Promise<ServiceReach[]> {
  const tries = targets.flatMap((t) =>
    Array.from({ length: ATTEMPTS_PER_SERVICE_PORT }, () => `{ ${tcpAttempt(t.to, t.port)}; } &`),
  );
  const results = attemptResults((await remote.exec(`${tries.join('\n')}\nwait`)).stdout);
  return targets.map((t) => ({ ...t, results: results.get(`${t.to} ${t.port}`) ?? [] }));
}

/** Everything the checks read, gathered from all hosts at once. */
export async function gatherFacts(
  intended: Intended,
  remote: (host: string) => Promise<Remote>,
  arpFrom: string | undefined,
): Promise<Facts> {
  const facts: Facts = { reach: [], nodes: [], edges: [], unreachable: {} };
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
      on(host, async (r) => {
        const unit = intended.servers.includes(host) ? 'k3s' : 'k3s-agent';
        const { node, reach } = await nodeFacts(r, unit, connectionsFrom(intended, host));
        facts.nodes.push(node);
        facts.reach.push(...reach);
      }),
    ),
    ...intended.edges.map((host) =>
      on(
        host,
        async (r) =>
          void facts.edges.push(
            await edgeFacts(
              r,
              (intended.upstreams[host] ?? []).map((u) => u.address),
            ),
          ),
      ),
    ),
  ]);
  if (intended.mode === 'bgp' && facts.cluster) {
    const targets = serviceTargets(facts.cluster);
    if (targets.length > 0)
      await Promise.all(
        facts.edges
          .filter((e) => e.error === undefined)
          .map((e) => on(e.host, async (r) => void (e.serviceReach = await serviceAttempts(r, targets)))),
      );
  }
  if (intended.mode === 'layer2' && facts.cluster && arpFrom) {
    const ips = loadBalancers(facts.cluster).flatMap(serviceIps);
    if (ips.length > 0) await on(arpFrom, async (r) => void (facts.arp = await arpFacts(r, ips)));
  }
  return facts;
}
