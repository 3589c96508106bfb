import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/doctor/doctor.ts';
import type { ClusterFacts, EdgeFacts, Facts, KubePod, KubeService } from '../../src/doctor/facts.ts';
import type { Finding } from '../../src/doctor/findings.ts';
import type { Intended } from '../../src/doctor/intended.ts';
import { parseConfigz, parseLogs } from '../../src/doctor/gather.ts';
import { METALLB_CRDS } from '../../roles/_shared/metallb.ts';

/**
 * play doctor's judgement on fixed readings (the article's cluster: cp1, w1, w2 and an edge).
 * The lab test (test/integration/doctor.test.ts) breaks a real cluster; these pin each rule.
 */
const ADDR = { edge: '192.0.2.1', cp1: '192.0.2.11', w1: '192.0.2.12', w2: '192.0.2.13' };
const NODES = ['cp1', 'w1', 'w2'] as const;
const PASSWORD = 'md5-secret';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const intended = (mode: 'bgp' | 'layer2' = 'bgp'): Intended => ({
  mode,
  namespace: 'metallb-system',
  servers: ['cp1'],
  agents: ['w1', 'w2'],
  edges: mode === 'bgp' ? ['edge'] : [],
  address: ADDR,
  pools: [{ name: 'public-pool', addresses: ['198.51.100.128/30'] }],
  peers:
    mode === 'bgp'
      ? [
          {
            name: 'edge-router',
            myASN: 65010,
            peerASN: 65000,
            peerAddress: ADDR.edge,
            bfdProfile: 'fast-bfd',
            holdTime: '180s',
            password: PASSWORD,
          },
        ]
      : [],
  upstreams: {},
  aggregates: ['198.51.100.128/30'],
  kubeProxyMode: { cp1: 'nftables', w1: 'nftables', w2: 'nftables' },
  firewallServicePorts: { cp1: [{ port: 80 }], w1: [{ port: 80 }], w2: [{ port: '80-81', protocol: 'tcp' }] },
});

const pod = (name: string, component: string, node: string, ready = true): KubePod => ({
  metadata: { name, namespace: 'metallb-system', labels: { app: 'metallb', component } },
  spec: { nodeName: node, containers: [{ name: component }] },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-11-30T09:00:30Z' }],
    containerStatuses: [
      { name: component, ready, state: ready ? { running: {} } : { waiting: { reason: 'CrashLoopBackOff' } } },
    ],
  },
});

const echo = (ip: string | undefined, extra: Partial<KubeService['metadata']> = {}): KubeService => ({
  metadata: { name: 'echo-lb', namespace: 'default', ...extra },
  spec: {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }],
  },
  status: { loadBalancer: { ingress: ip ? [{ ip }] : [] } },
});

function cluster(changes: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    from: 'cp1',
    crds: METALLB_CRDS.map((name) => ({
      metadata: { name },
      status: { conditions: [{ type: 'Established', status: 'True' }] },
    })),
    nodes: NODES.map((n) => ({ metadata: { name: n }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })),
    pods: [pod('controller-1', 'controller', 'w1'), ...NODES.map((n) => pod(`speaker-${n}`, 'speaker', n))],
    services: [echo('198.51.100.128')],
    endpointSlices: [
      {
        metadata: {
          name: 'webhook',
          namespace: 'metallb-system',
          labels: { 'kubernetes.io/service-name': 'metallb-webhook-service' },
        },
        endpoints: [{ addresses: ['10.42.1.2'], conditions: { ready: true } }],
      },
      {
        metadata: { name: 'echo', namespace: 'default', labels: { 'kubernetes.io/service-name': 'echo-lb' } },
        endpoints: [
          { addresses: ['10.42.1.50'], nodeName: 'w1', conditions: { ready: true } },
          { addresses: ['10.42.2.50'], nodeName: 'w2', conditions: { ready: true } },
        ],
      },
    ],
    pools: [
      { metadata: { name: 'public-pool', namespace: 'metallb-system' }, spec: { addresses: ['198.51.100.128/30'] } },
    ],
    l2Advertisements: [{ metadata: { name: 'l2' }, spec: {} }],
    bgpAdvertisements: [{ metadata: { name: 'public-adv' }, spec: { ipAddressPools: ['public-pool'] } }],
    pdbs: [],
    events: [],
    logs: parseLogs(LOGS),
    ...changes,
  };
}

/** What `kubectl logs --prefix` printed: MetalLB's JSON lines, one speaker's with an error. */
const LOGS = [
  '[pod/controller-1/controller] 2026-11-30T09:00:00.1Z {"caller":"main.go:120","level":"info","msg":"controller starting","ts":"2026-11-30T09:00:00Z"}',
  // Before the speaker was Ready (09:00:30): start-up, not judged.
  '[pod/speaker-w2/speaker] 2026-11-30T09:00:02.5Z {"caller":"k8s.go:400","level":"error","msg":"failed to get webhook cert","ts":"2026-11-30T09:00:02Z"}',
  '[pod/speaker-w1/speaker] 2026-11-30T09:00:31.2Z {"caller":"bgp.go:90","level":"info","msg":"session up","ts":"2026-11-30T09:00:31Z"}',
  // A lost update race, retried at once by controller-runtime: not the operator's concern.
  '[pod/controller-1/controller] 2026-11-30T09:00:40.5Z {"level":"error","msg":"Reconciler error","controller":"PoolStatusController","error":"Operation cannot be fulfilled on ipaddresspools.metallb.io \\"public-pool\\": the object has been modified; please apply your changes to the latest version and try again"}',
  // A Service's reprocessing that failed and is queued again (its outcome is the service checks').
  '[pod/controller-1/controller] 2026-11-30T09:00:41.0Z {"caller":"service_controller_reload.go:102","controller":"ServiceReconciler - reprocessAll","endpoints":"[]","event":"failed to handle service, retry","level":"error","name":"default/echo-lb"}',
  '[pod/controller-1/controller] 2026-11-30T09:00:41.1Z {"level":"error","msg":"Reconciler error","controller":"service","Service":{"name":"reload","namespace":"metallbreload"},"error":"event handling failed, retrying"}',
  '@@play-logs-read@@',
  '',
].join('\n');

function edge(changes: Partial<EdgeFacts> = {}): EdgeFacts {
  return {
    host: 'edge',
    neighbors: Object.fromEntries(
      NODES.map((n) => [ADDR[n], { state: 'Established', pfxRcd: n === 'cp1' ? 0 : 1, peerUptime: '00:05:00' }]),
    ),
    bfd: NODES.map((n) => ({ peer: ADDR[n], status: 'up' })),
    routes: { '198.51.100.128/32': [ADDR.w1, ADDR.w2] },
    advertised: {},
    passwordDigests: Object.fromEntries(NODES.map((n) => [ADDR[n], sha256(PASSWORD)])),
    serviceReach: [{ to: '198.51.100.128', port: 80, results: ['open', 'open', 'open', 'open'] }],
    ...changes,
  };
}

const MACS: Record<string, string> = { cp1: '02:00:00:00:00:11', w1: '02:00:00:00:00:12', w2: '02:00:00:00:00:13' };
function facts(changes: Partial<Facts> = {}): Facts {
  return {
    reach: [],
    cluster: cluster(),
    nodes: NODES.map((n) => ({
      host: n,
      unit: n === 'cp1' ? 'k3s' : 'k3s-agent',
      active: 'active',
      macs: { [MACS[n] ?? '']: 'eth0' },
      kubeProxy: { mode: 'nftables', strictARP: false },
    })),
    edges: [edge()],
    unreachable: {},
    ...changes,
  };
}

const ALL = new Set(['edge', ...NODES]);
const failed = (findings: Finding[]): Finding[] => findings.filter((f) => f.verdict !== 'ok');
const only = (findings: Finding[]): Finding => {
  const bad = failed(findings);
  expect(bad.map((f) => `${f.host} ${f.check} ${f.verdict}`)).toHaveLength(1);
  return bad[0] as Finding;
};

describe('play doctor judges the readings', () => {
  it('a healthy BGP cluster: every check ok, sessions, BFD and the route with exactly the nodes holding ready endpoints', () => {
    const findings = judge(intended(), facts(), [], ALL);
    expect(failed(findings)).toEqual([]);
    expect(findings.map((f) => `${f.host} ${f.check}`)).toEqual(
      expect.arrayContaining([
        'edge BGP session with w1 (192.0.2.12)',
        'edge BFD with w2',
        'edge route to default/echo-lb 198.51.100.128',
        'edge default/echo-lb 198.51.100.128:80 accepts TCP from edge',
        "cluster default/echo-lb port 80/tcp let through the nodes' firewall",
        'w1 speaker ready',
        'cluster webhook endpoints ready',
      ]),
    );
  });

  it("a session down while the node's speaker is ready: the MD5 password when the edge runs another, else a filter on TCP 179", () => {
    const w2Down = (digest: string | undefined): Finding => {
      const passwordDigests = { ...edge().passwordDigests };
      if (digest === undefined) delete passwordDigests[ADDR.w2];
      else passwordDigests[ADDR.w2] = digest;
      return only(
        judge(
          intended(),
          facts({
            edges: [
              edge({
                neighbors: { ...edge().neighbors, [ADDR.w2]: { state: 'Active' } },
                routes: { '198.51.100.128/32': [ADDR.w1] },
                passwordDigests,
              }),
            ],
          }),
          [],
          ALL,
        ).filter((x) => x.check.startsWith('BGP')),
      );
    };
    const other = w2Down(sha256('not-the-password'));
    expect(other).toMatchObject({ host: 'edge', verdict: 'fail', check: 'BGP session with w2 (192.0.2.13)' });
    expect(other.cause).toMatch(/MD5 password differs/);
    expect(other.evidence).toContain(
      "edge's running config, neighbor 192.0.2.13: FRR's MD5 password for it differs from metallb_bgp_peers' (neither is shown)",
    );
    expect(other.fix).toMatch(/systemctl reload frr/);
    expect(w2Down(undefined).evidence[1]).toMatch(/FRR runs with no MD5 password for it; metallb_bgp_peers has one/);
    const same = w2Down(sha256(PASSWORD));
    expect(same.cause).toMatch(/TCP 179 is filtered/);
    expect(same.cause).not.toMatch(/MD5 password differs/);
    expect(same.fix).toMatch(/--role firewall --check --diff/);
    expect(JSON.stringify([other, same])).not.toContain(PASSWORD);
  });

  it('the route lacking a node that holds a ready endpoint fails, naming expected and actual next hops', () => {
    const f = only(
      judge(intended(), facts({ edges: [edge({ routes: { '198.51.100.128/32': [ADDR.w1] } })] }), [], ALL),
    );
    expect(f.evidence).toEqual([
      'next hops: 192.0.2.12',
      'expected: 192.0.2.12, 192.0.2.13 (nodes with ready endpoints and a ready speaker)',
    ]);
  });

  it('bgpd not running on the edge is one failure, not one per node', () => {
    const f = only(judge(intended(), facts({ edges: [edge({ error: 'pgrep -x bgpd: not running' })] }), [], ALL));
    expect(f).toMatchObject({ host: 'edge', check: 'bgpd answers' });
    expect(f.fix).toMatch(/systemctl restart frr/);
  });

  it("a speaker down: the speaker and the node's session both fail, the session saying why", () => {
    const pods = cluster().pods.map((p) =>
      p.metadata.name === 'speaker-w1' ? pod('speaker-w1', 'speaker', 'w1', false) : p,
    );
    const findings = failed(
      judge(
        intended(),
        facts({
          cluster: cluster({ pods }),
          edges: [
            edge({
              neighbors: { ...edge().neighbors, [ADDR.w1]: { state: 'Connect' } },
              routes: { '198.51.100.128/32': [ADDR.w2] },
            }),
          ],
        }),
        [],
        ALL,
      ),
    );
    expect(findings.map((f) => `${f.host} ${f.check}`)).toEqual([
      'w1 speaker ready',
      'edge BGP session with w1 (192.0.2.12)',
    ]);
    expect(findings[0]?.evidence[0]).toMatch(/speaker-w1 on w1: Running; speaker CrashLoopBackOff/);
    expect(findings[1]?.cause).toMatch(/speaker on w1 is not running/);
  });

  it('no speaker on a node tainted against it: the taint is named, with its removal; a tolerated taint is not', () => {
    const tolerations = [
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    ];
    const pods = cluster()
      .pods.filter((p) => p.metadata.name !== 'speaker-w1')
      .map((p) => ({ ...p, spec: { ...p.spec, tolerations } }));
    const taint = (key: string, effect: string, value?: string) => ({ key, effect, ...(value ? { value } : {}) });
    const nodes = cluster().nodes.map((n) =>
      n.metadata.name === 'w1'
        ? {
            ...n,
            spec: {
              taints: [
                taint('node-role.kubernetes.io/control-plane', 'NoSchedule'),
                taint('maintenance', 'PreferNoSchedule', 'true'),
                taint('CriticalAddonsOnly', 'NoExecute', 'true'),
              ],
            },
          }
        : n,
    );
    const speaker = (f: Facts): Finding =>
      only(failed(judge(intended(), f, [], ALL)).filter((x) => x.check === 'speaker ready'));
    const tainted = speaker(facts({ cluster: cluster({ pods, nodes }) }));
    expect(tainted.evidence).toEqual(['no speaker pod on w1', 'w1 is tainted CriticalAddonsOnly=true:NoExecute']);
    expect(tainted.cause).toMatch(/taint MetalLB's speaker does not tolerate \(CriticalAddonsOnly=true:NoExecute\)/);
    expect(tainted.fix).toContain('k3s kubectl taint nodes w1 CriticalAddonsOnly=true:NoExecute-');
    // Without an untolerated taint, no taint is blamed.
    const untainted = speaker(facts({ cluster: cluster({ pods }) }));
    expect(untainted.evidence).toEqual(['no speaker pod on w1']);
    expect(untainted.fix).toContain('get daemonset speaker');
  });

  it('BFD down under an Established session fails with the hold time it falls back to', () => {
    const f = only(
      judge(
        intended(),
        facts({
          edges: [
            edge({
              bfd: [
                { peer: ADDR.cp1, status: 'up' },
                { peer: ADDR.w1, status: 'down' },
                { peer: ADDR.w2, status: 'up' },
              ],
            }),
          ],
        }),
        [],
        ALL,
      ),
    );
    expect(f).toMatchObject({ check: 'BFD with w1' });
    expect(f.cause).toMatch(/180s/);
  });

  it('a Service annotated with a pool that does not exist', () => {
    const svc = echo(undefined, { name: 'other', annotations: { 'metallb.io/address-pool': 'gold' } });
    const f = only(
      judge(
        intended(),
        facts({
          cluster: cluster({
            services: [echo('198.51.100.128'), svc],
            events: [
              {
                involvedObject: { kind: 'Service', name: 'other', namespace: 'default' },
                type: 'Warning',
                reason: 'AllocationFailed',
                message: 'unknown pool "gold"',
              },
            ],
          }),
        }),
        [],
        ALL,
      ),
    );
    expect(f).toMatchObject({ check: 'default/other has an address' });
    expect(f.cause).toBe('the Service asks for pool "gold", which does not exist');
    expect(f.evidence).toContain('event AllocationFailed: unknown pool "gold"');
  });

  it('a pool exhausted by one Service too many', () => {
    const taken = ['198.51.100.128', '198.51.100.129', '198.51.100.130', '198.51.100.131'].map((ip, i) => ({
      ...echo(ip, { name: `s${i}` }),
      spec: { type: 'LoadBalancer' },
    }));
    const f = only(
      judge(
        intended(),
        facts({
          cluster: cluster({
            services: [...taken, { ...echo(undefined, { name: 'one-too-many' }), spec: { type: 'LoadBalancer' } }],
          }),
          edges: [],
        }),
        [],
        ALL,
      ).filter((x) => x.area === 'service'),
    );
    expect(f.cause).toBe('pool public-pool exhausted: every address is taken by another Service');
    expect(f.evidence[0]).toBe('public-pool: all 4 addresses in use');
  });

  it('an address family no pool has, an address outside the pools, an address another Service holds: each named', () => {
    const noAddress = (svc: KubeService): Finding =>
      only(
        judge(intended(), facts({ cluster: cluster({ services: [echo('198.51.100.128'), svc] }) }), [], ALL).filter(
          (x) => x.check === 'default/other has an address',
        ),
      );
    const other = (spec: Partial<KubeService['spec']>, annotations?: Record<string, string>): KubeService => ({
      metadata: { name: 'other', namespace: 'default', ...(annotations ? { annotations } : {}) },
      spec: { type: 'LoadBalancer', ...spec },
    });
    const v6 = noAddress(other({ ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' }));
    expect(v6.cause).toBe('the Service needs IPv6 from one pool, and no pool it may use has that family');
    expect(v6.evidence.slice(0, 2)).toEqual(['ipFamilies: IPv6 (SingleStack)', 'public-pool: 198.51.100.128/30']);
    const dual = noAddress(other({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }));
    expect(dual.cause).toBe('the Service needs IPv4 and IPv6 from one pool, and no pool it may use has both');
    // PreferDualStack takes what a pool has: an IPv4 pool serves it, so family is not blamed.
    expect(noAddress(other({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' })).cause).not.toMatch(
      /family/,
    );
    const outside = noAddress(other({}, { 'metallb.io/loadBalancerIPs': '203.0.113.7' }));
    expect(outside.cause).toBe('the Service asks for 203.0.113.7, which is in no pool');
    expect(noAddress(other({ loadBalancerIP: '203.0.113.7' })).cause).toBe(
      'the Service asks for 203.0.113.7, which is in no pool',
    );
    const taken = noAddress(other({}, { 'metallb.io/loadBalancerIPs': '198.51.100.128' }));
    expect(taken.cause).toMatch(/^the address it asks for is taken by default\/echo-lb/);
    expect(taken.evidence).toContain('default/echo-lb holds 198.51.100.128');
  });

  it("kube-proxy as it runs: its mode against k3s-config's, strict ARP with IPVS, and one that does not answer", () => {
    const w1 = (kubeProxy: Facts['nodes'][number]['kubeProxy'], mode: 'ipvs' | 'nftables' = 'nftables'): Finding => {
      const found = judge(
        { ...intended(), kubeProxyMode: { ...intended().kubeProxyMode, w1: mode } },
        facts({ nodes: facts().nodes.map((n) => (n.host === 'w1' ? { ...n, kubeProxy } : n)) }),
        [],
        ALL,
      ).filter((f) => f.host === 'w1' && f.check === 'kube-proxy mode');
      expect(found).toHaveLength(1);
      return found[0] as Finding;
    };
    expect(w1({ mode: 'nftables', strictARP: false })).toMatchObject({
      verdict: 'ok',
      evidence: ["kube-proxy's /configz: mode nftables", 'k3s-config: kube_proxy_mode nftables'],
    });
    const stale = w1({ mode: 'iptables', strictARP: false });
    expect(stale.verdict).toBe('fail');
    expect(stale.cause).toMatch(/^kube-proxy runs in iptables mode, not nftables: K3s was not restarted/);
    expect(stale.fix).toMatch(/^systemctl restart k3s-agent on w1/);
    const flux = w1({ mode: 'ipvs', strictARP: false }, 'ipvs');
    expect(flux.evidence[0]).toBe("kube-proxy's /configz: mode ipvs, strictARP false");
    expect(flux.cause).toMatch(/IPVS without strict ARP/);
    expect(w1({ mode: 'ipvs', strictARP: true }, 'ipvs').verdict).toBe('ok');
    const silent = w1({ unreadable: 'nothing answers on 127.0.0.1:10249' });
    expect(silent.verdict).toBe('fail');
    expect(silent.cause).toMatch(/^kube-proxy is not running on w1/);
  });

  it("reads kube-proxy's /configz response; no answer, an HTTP error or no JSON each say so", () => {
    const response = (status: string, body: string): string =>
      `HTTP/1.0 ${status}\r\nContent-Type: application/json\r\nDate: Mon, 30 Nov 2026 16:00:00 GMT\r\n\r\n${body}`;
    // A real kube-proxy v1.34's answer (the lab's, in nftables mode): Go's field names.
    const real = readFileSync(join(import.meta.dirname, '../fixtures/doctor/kube-proxy-configz.http'), 'utf8');
    expect(parseConfigz(real)).toEqual({ mode: 'nftables', strictARP: false });
    const ipvs = real.replace('"Mode":"nftables"', '"Mode":"ipvs"').replace('"StrictARP":false', '"StrictARP":true');
    expect(parseConfigz(ipvs)).toEqual({ mode: 'ipvs', strictARP: true });
    expect(
      parseConfigz(
        response(
          '200 OK',
          JSON.stringify({ 'kubeproxy.config.k8s.io': { mode: 'ipvs', ipvs: { strictARP: true, scheduler: '' } } }),
        ),
      ),
    ).toEqual({ mode: 'ipvs', strictARP: true });
    // kube-proxy's default mode on Linux is iptables, reported as an empty mode.
    expect(parseConfigz(response('200 OK', '{"kubeproxy.config.k8s.io":{"mode":""}}'))).toEqual({
      mode: 'iptables',
      strictARP: false,
    });
    expect(
      parseConfigz('bash: connect: Connection refused\nbash: line 1: /dev/tcp/127.0.0.1/10249: Connection refused'),
    ).toEqual({
      unreadable: 'nothing answers on 127.0.0.1:10249 (bash: connect: Connection refused)',
    });
    expect(parseConfigz('')).toEqual({ unreadable: 'nothing answers on 127.0.0.1:10249' });
    expect(parseConfigz(response('404 Not Found', 'not found'))).toEqual({
      unreadable: '127.0.0.1:10249/configz answered HTTP 404',
    });
    expect('unreadable' in parseConfigz(response('200 OK', '<html>'))).toBe(true);
  });

  it('externalTrafficPolicy Local with no ready endpoint warns', () => {
    const slices = cluster().endpointSlices.map((e) =>
      e.metadata.name === 'echo'
        ? { ...e, endpoints: (e.endpoints ?? []).map((ep) => ({ ...ep, conditions: { ready: false } })) }
        : e,
    );
    const findings = failed(
      judge(
        intended(),
        facts({ cluster: cluster({ endpointSlices: slices }), edges: [edge({ routes: {} })] }),
        [],
        ALL,
      ),
    );
    expect(findings.map((f) => `${f.check} ${f.verdict}`)).toEqual(['default/echo-lb has ready endpoints warn']);
  });

  it('layer2: exactly one node answering is ok; two answering is ARP flux; none is a failure naming provider ARP filtering', () => {
    const l2 = (answers: string[]) =>
      judge(
        intended('layer2'),
        facts({ edges: [], arp: { from: 'edge', method: 'arping', answers: { '198.51.100.128': answers } } }),
        [],
        ALL,
      ).filter((f) => f.area === 'layer2');
    expect(l2([MACS.w1 ?? ''])).toEqual([
      expect.objectContaining({
        verdict: 'ok',
        evidence: ['asked from edge with arping', 'answer: 02:00:00:00:00:12 (w1)'],
      }),
    ]);
    expect(l2([MACS.w1 ?? '', MACS.w2 ?? ''])[0]?.cause).toMatch(/ARP flux/);
    expect(l2([])[0]?.cause).toMatch(/provider filters ARP/);
    expect(l2([MACS.cp1 ?? ''])[0]?.cause).toMatch(/cp1 answers but holds no ready endpoint/);
  });

  it("MetalLB's CRDs: each missing or not established one is named, with where the deploy controller says why", () => {
    const crds = cluster().crds.filter((c) => c.metadata.name !== 'bgppeers.metallb.io');
    const pending = { metadata: { name: 'bgppeers.metallb.io' }, status: { conditions: [] } };
    const missing = only(judge(intended(), facts({ cluster: cluster({ crds }) }), [], ALL));
    expect(missing).toMatchObject({ check: 'CRDs established', evidence: ['bgppeers.metallb.io: missing'] });
    expect(missing.fix).toContain('--role metallb-install');
    const notYet = only(judge(intended(), facts({ cluster: cluster({ crds: [...crds, pending] }) }), [], ALL));
    expect(notYet.evidence).toEqual(['bgppeers.metallb.io: not established']);
  });

  it('upstream: each provider router peers and is sent every pool block; a missing block or a down session fails', () => {
    const withUpstream: Intended = { ...intended(), upstreams: { edge: [{ address: '203.0.113.1', asn: 64999 }] } };
    const upstreamUp = { ...edge().neighbors, '203.0.113.1': { state: 'Established' } };
    const good = judge(
      withUpstream,
      facts({ edges: [edge({ neighbors: upstreamUp, advertised: { '203.0.113.1': ['198.51.100.128/30'] } })] }),
      [],
      ALL,
    );
    expect(failed(good)).toEqual([]);
    expect(good.find((f) => f.check === 'pools announced upstream to 203.0.113.1')?.verdict).toBe('ok');

    const notSent = only(
      judge(withUpstream, facts({ edges: [edge({ neighbors: upstreamUp, advertised: {} })] }), [], ALL),
    );
    expect(notSent.cause).toContain('does not announce 198.51.100.128/30 to 203.0.113.1');

    const down = only(judge(withUpstream, facts(), [], ALL));
    expect(down.cause).toContain("the session with the provider's router 203.0.113.1 is not configured");
    expect(down.fix).toContain('AS 64999');
  });

  it('connection attempts between nodes: open is ok, a drop is named as a firewall, a refusal as nothing listening', () => {
    const reach = (result: 'open' | 'refused' | 'filtered', port = 10250) => ({
      from: 'cp1',
      to: ADDR.w1,
      port,
      what: port === 10250 ? 'kubelet' : "MetalLB's memberlist",
      result,
    });
    const good = judge(intended(), facts({ reach: [reach('open')] }), [], ALL);
    expect(failed(good)).toEqual([]);
    expect(good.find((f) => f.check === `reaches ${ADDR.w1}:10250 (kubelet)`)?.evidence).toEqual([
      `TCP connect from cp1 to ${ADDR.w1}:10250: open`,
    ]);
    const dropped = only(judge(intended(), facts({ reach: [reach('filtered')] }), [], ALL));
    expect(dropped).toMatchObject({ host: 'cp1', verdict: 'fail' });
    expect(dropped.cause).toContain('a firewall drops 10250/tcp from cp1 to 192.0.2.12');
    const refused = only(judge(intended(), facts({ reach: [reach('refused', 7946)] }), [], ALL));
    expect(refused.cause).toContain("MetalLB's speaker is not running");
  });

  it("MetalLB's logs: errors of the last minutes warn, per node for speakers, with the last lines; unreadable logs warn saying why", () => {
    const speakerError =
      '[pod/speaker-w2/speaker] 2026-11-30T09:01:00.3Z {"caller":"session.go:200","level":"error","msg":"failed to connect to peer","error":"dial tcp 192.0.2.1:179: i/o timeout","ts":"2026-11-30T09:01:00Z"}';
    const withError = cluster({
      logs: parseLogs(
        LOGS.replace('@@play-logs-read@@', `${speakerError}\nnot json: a stack line\n@@play-logs-read@@`),
      ),
    });
    const found = only(judge(intended(), facts({ cluster: withError }), [], ALL));
    expect(found).toMatchObject({ host: 'w2', check: 'speaker: no errors logged in 15 min', verdict: 'warn' });
    expect(found.cause).toContain('failed to connect to peer');
    expect(found.evidence.join('\n')).toContain('speaker-w2: {"caller":"session.go:200"');
    expect(found.fix).toBe('k3s kubectl -n metallb-system logs speaker-w2 -c speaker --since=15m');

    const unreadable = cluster({
      logs: parseLogs(
        'Error from server: Get "https://192.0.2.12:10250/containerLogs/...": dial tcp 192.0.2.12:10250: connect: connection refused\n',
      ),
    });
    const none = only(judge(intended(), facts({ cluster: unreadable }), [], ALL));
    expect(none).toMatchObject({ host: 'cluster', verdict: 'warn' });
    expect(none.evidence[0]).toContain('10250: connect: connection refused');
  });

  it('a node whose K3s is stopped', () => {
    const nodes = facts().nodes.map((n) => (n.host === 'w2' ? { ...n, active: 'inactive' } : n));
    const findings = failed(
      judge(
        intended(),
        facts({
          nodes,
          cluster: cluster({
            nodes: cluster().nodes.map((n) =>
              n.metadata.name === 'w2'
                ? {
                    ...n,
                    status: {
                      conditions: [
                        { type: 'Ready', status: 'Unknown', message: 'Kubelet stopped posting node status.' },
                      ],
                    },
                  }
                : n,
            ),
          }),
        }),
        [],
        ALL,
      ),
    );
    expect(findings.map((f) => `${f.host} ${f.check}`)).toEqual(['w2 k3s-agent service active', 'w2 Node Ready']);
  });

  it("a Service port the nodes' firewall does not open: dropped with IPVS, let through (a warning) with nftables", () => {
    const closed = {
      ...intended(),
      firewallServicePorts: { cp1: [{ port: 80 }], w1: [], w2: [{ port: 80, protocol: 'udp' as const }] },
    };
    const forwarded = only(judge(closed, facts(), [], ALL));
    expect(forwarded).toMatchObject({
      check: "default/echo-lb port 80/tcp let through the nodes' firewall",
      verdict: 'warn',
    });
    expect(forwarded.evidence).toEqual([
      'not in firewall_service_ports on w1, w2',
      'w1: kube-proxy nftables',
      'w2: kube-proxy nftables',
    ]);
    expect(forwarded.cause).toMatch(/only because kube-proxy forwards it .* in IPVS mode the firewall would drop it/);
    // kube-proxy as it runs decides, not only as k3s-config would set it.
    const ipvs = facts().nodes.map((n) =>
      n.host === 'w2' ? { ...n, kubeProxy: { mode: 'ipvs', strictARP: true } } : n,
    );
    const dropped = only(
      judge({ ...closed, kubeProxyMode: { ...closed.kubeProxyMode, w2: 'ipvs' } }, facts({ nodes: ipvs }), [], ALL),
    );
    expect(dropped.verdict).toBe('fail');
    expect(dropped.cause).toMatch(/IPVS mode on w2 the Service's address is local .* does not accept 80\/tcp/);
    expect(dropped.fix).toBe(
      'add { port: 80 } to firewall_service_ports, then: play site.yaml -i INVENTORY --role firewall',
    );
  });

  it('a Service address the edge routes but that takes no connection from the edge fails, with the likely cause', () => {
    const reach = (results: ('open' | 'refused' | 'filtered')[]) => [{ to: '198.51.100.128', port: 80, results }];
    const check = 'default/echo-lb 198.51.100.128:80 accepts TCP from edge';
    const unanswered = only(
      judge(
        intended(),
        facts({ edges: [edge({ serviceReach: reach(['open', 'filtered', 'open', 'filtered']) })] }),
        [],
        ALL,
      ),
    );
    expect(unanswered).toMatchObject({ host: 'edge', check, verdict: 'fail' });
    expect(unanswered.evidence).toEqual([
      '2 of 4 connections accepted, 2 unanswered, 0 refused',
      'next hops: 192.0.2.12, 192.0.2.13',
    ]);
    expect(unanswered.cause).toMatch(
      /routes 198.51.100.128 to w1, w2, but connections get no answer there: kube-proxy/,
    );
    const refused = only(
      judge(
        intended(),
        facts({ edges: [edge({ serviceReach: reach(['refused', 'open', 'open', 'open']) })] }),
        [],
        ALL,
      ),
    );
    expect(refused.cause).toMatch(/refuses connections .* targetPort http/);
    // With IPVS on a next hop whose firewall lacks the port, the firewall is named: the port check fails too.
    const ipvs = facts().nodes.map((n) =>
      n.host === 'w1' ? { ...n, kubeProxy: { mode: 'ipvs', strictARP: true } } : n,
    );
    const closed: Intended = {
      ...intended(),
      firewallServicePorts: { ...intended().firewallServicePorts, w1: [] },
      kubeProxyMode: { ...intended().kubeProxyMode, w1: 'ipvs' },
    };
    const findings = failed(
      judge(
        closed,
        facts({ nodes: ipvs, edges: [edge({ serviceReach: reach(['filtered', 'open', 'filtered', 'open']) })] }),
        [],
        ALL,
      ),
    );
    expect(findings.map((f) => `${f.host} ${f.check} ${f.verdict}`)).toEqual([
      "cluster default/echo-lb port 80/tcp let through the nodes' firewall fail",
      `edge ${check} fail`,
    ]);
    expect(findings[1]?.cause).toMatch(/IPVS mode on w1/);
    // A Service the edge does not route is the route check's to report, not tried again here.
    expect(
      failed(
        judge(intended(), facts({ edges: [edge({ routes: {}, serviceReach: reach(['filtered']) })] }), [], ALL),
      ).map((f) => f.check),
    ).toEqual(['route to default/echo-lb 198.51.100.128']);
  });

  it('a Service with one pod, or all its pods on one node, warns: a restart or a drain withdraws it everywhere', () => {
    const app = (name: string, node: string): KubePod => ({
      ...pod(name, 'app', node),
      metadata: { name, namespace: 'default', labels: { app: 'echo' } },
      spec: { nodeName: node, containers: [{ name: 'netexec', readinessProbe: { httpGet: { path: '/readyz' } } }] },
    });
    const service = { ...echo('198.51.100.128'), spec: { ...echo('198.51.100.128').spec, selector: { app: 'echo' } } };
    const pdbs = [
      { metadata: { name: 'echo', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'echo' } } } },
    ];
    const with_ = (pods: KubePod[]) =>
      failed(
        judge(
          intended(),
          facts({ cluster: cluster({ services: [service], pods: [...cluster().pods, ...pods], pdbs }) }),
          [],
          ALL,
        ),
      );
    expect(with_([app('echo-a', 'w1'), app('echo-b', 'w2')])).toEqual([]);
    const single = with_([app('echo-a', 'w1')]);
    expect(single.map((f) => `${f.check} ${f.verdict}`)).toEqual(['default/echo-lb pods on more than one node warn']);
    expect(single[0]?.cause).toMatch(/a single replica: .* the address is withdrawn everywhere/);
    const together = with_([app('echo-a', 'w1'), app('echo-b', 'w1')]);
    expect(together[0]?.cause).toMatch(/every replica is on one node/);
  });
});
