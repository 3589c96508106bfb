import { beforeAll, expect, it } from 'vitest';
import type { Finding } from '../../src/doctor/findings.ts';
import { describeLab, eventually, freshHosts, lab, onHostOk } from './lab-fixture.ts';
import { layerSnapshot, snapshotDiff } from './layer-snapshot.ts';
import { apply, deployEcho, echoPods, neighbors, nextHops, NODES, routedVia, serviceIp } from './metallb-edge.ts';
import { exampleInventory, failures, play, type PlayRun } from './play-runner.ts';
import { labExampleVars } from '../lab/example-inventory.ts';
import { startUpstreamRouter } from './upstream-router.ts';
import { clientRequest } from './traffic.ts';
import { NFT } from '../../src/resources/nft-command.ts';

/**
 * play doctor on the lab with the real MetalLB: a healthy cluster passes; then, one at a time,
 * what the article's "common problems" describe is broken, doctor names it and the fix, and the
 * lab is put back.
 */
interface DoctorReport {
  exitCode: number;
  summary: { ok: number; warn: number; fail: number };
  findings: Finding[];
}

const report = (r: PlayRun): DoctorReport => r.report as unknown as DoctorReport;
const bad = (r: PlayRun): string[] =>
  report(r)
    .findings.filter((f) => f.verdict !== 'ok')
    // With the evidence, so that a failing assertion says what doctor saw.
    .map((f) => `${f.host} ${f.area} ${f.check}: ${f.verdict} (${f.evidence.slice(0, 3).join(' | ').slice(0, 400)})`);
const finding = (r: PlayRun, host: string, check: string): Finding | undefined =>
  report(r).findings.find((f) => f.host === host && f.check === check);

/**
 * Each case leaves the lab as it found it: an echo pod on each agent (a case that evicted one got
 * it rescheduled beside the other) and both paths to echo-lb back at the edge.
 */
async function settled(): Promise<void> {
  const spread = (p: { node: string; ready: boolean }[]): boolean =>
    p.length === 2 && p.every((x) => x.ready) && p.map((x) => x.node).join() === 'w1,w2';
  if (!spread(await echoPods())) {
    await onHostOk('cp1', 'k3s kubectl rollout restart deployment echo');
    await eventually('an echo pod on each agent again', echoPods, spread, { timeoutMs: 120_000 });
  }
  await routedVia(await serviceIp(), ['w1', 'w2'], 120_000);
}

describeLab("play doctor: the article's diagnostics, judged (BGP with BFD)", () => {
  let inventory = '';
  let overrides: Record<string, unknown> = {};
  const doctor = (...args: string[]): Promise<PlayRun> =>
    play(['doctor', '-i', inventory, ...args], { timeoutMs: 120_000 });

  beforeAll(async () => {
    await freshHosts('edge', 'cp1', 'w1', 'w2');
    // A pool of four addresses, so that one Service too many exhausts it.
    // connectTime 5s: a node whose session was cut retries within seconds, not FRR's 2 minutes.
    const peers = (labExampleVars('example-bgp', 'frr').metallb_bgp_peers as Record<string, unknown>[]).map((p) => ({
      ...p,
      connectTime: '5s',
    }));
    overrides = {
      firewall_rollback_seconds: 10,
      ansible_timeout: 4,
      metallb_bgp_peers: peers,
      metallb_pools: [{ name: 'public-pool', addresses: ['198.51.100.128/30'] }],
    };
    inventory = exampleInventory('example-bgp', overrides, 'frr');
    const r = await play(['site.yaml', '-i', inventory]);
    expect(r.code, failures(r)).toBe(0);
    await routedVia((await deployEcho()).ip, ['w1', 'w2']);
  }, 600_000);

  it("a healthy cluster: every check passes, exit 0, and no host's disk changed", async () => {
    const hosts = lab().state.hosts;
    const before = hosts.map((h) => layerSnapshot(h.layer));
    const r = await doctor();
    expect(bad(r), failures(r)).toEqual([]);
    expect(r.code).toBe(0);
    const checks = report(r).findings.map((f) => `${f.host} ${f.area} ${f.check}`);
    expect(checks).toEqual(
      expect.arrayContaining([
        'cp1 node k3s service active',
        'w2 node Node Ready',
        // The real kube-proxy's own /configz.
        'w1 node kube-proxy mode',
        'cluster metallb CRDs established',
        'cluster metallb controller ready',
        'w1 metallb speaker ready',
        'cluster metallb webhook endpoints ready',
        'cluster service default/echo-lb has an address',
        `edge bgp BGP session with w1 (${NODES.w1})`,
        'edge bgp BFD with w2',
        'edge bgp route to default/echo-lb 198.51.100.128',
        // A route is not a request answered: the edge connects to the address itself.
        'edge bgp default/echo-lb 198.51.100.128:80 accepts TCP from edge',
        "cluster service default/echo-lb port 80/tcp let through the nodes' firewall",
        // kubectl logs, through each node's agent on the kubelet's port.
        'cluster metallb controller: no errors logged in 15 min',
        'w2 metallb speaker: no errors logged in 15 min',
      ]),
    );
    const speakerLog = report(r).findings.find((f) => f.host === 'w2' && f.check.startsWith('speaker: no errors'));
    expect(speakerLog?.evidence[0]).toMatch(/^[1-9]\d* lines read$/);
    expect(r.stdout).toMatch(/DOCTOR {2}ok=\d+ warn=0 fail=0/);
    hosts.forEach((h, i) => expect(snapshotDiff(before[i] ?? new Map(), layerSnapshot(h.layer)), h.name).toEqual([]));
  }, 180_000);

  it('a different password on the edge: no session, and doctor names the MD5 password', async () => {
    await onHostOk(
      'edge',
      `vtysh -c 'configure terminal' -c 'router bgp 65000' -c 'neighbor ${NODES.w2} password not-the-password' -c 'end' -c 'clear bgp ${NODES.w2}'`,
    );
    try {
      await eventually('w2 session down', neighbors, (n) => n[NODES.w2 ?? '']?.state !== 'Established', {
        timeoutMs: 30_000,
      });
      const r = await doctor();
      expect(r.code).toBe(3);
      const f = finding(r, 'edge', `BGP session with w2 (${NODES.w2})`);
      expect(f?.verdict).toBe('fail');
      expect(f?.cause).toMatch(/MD5 password differs/);
      // Read from FRR's running config: frr.conf still has the right one, so no drift shows it.
      expect(f?.evidence).toContain(
        `edge's running config, neighbor ${NODES.w2}: FRR's MD5 password for it differs from metallb_bgp_peers' (neither is shown)`,
      );
      expect(f?.fix).toMatch(/systemctl reload frr on edge/);
      expect(JSON.stringify(report(r))).not.toContain('not-the-password');
      expect(r.stdout).not.toContain('not-the-password');
    } finally {
      await onHostOk('edge', 'systemctl reload frr');
      await settled();
    }
  });

  it("the pools announced upstream: a provider's router hears every pool block; once it stops peering, doctor says nothing is announced", async () => {
    const router = await startUpstreamRouter(64999, { address: '192.0.2.1', asn: 65000 });
    const check = `pools announced upstream to ${router.address}`;
    const withUpstream = exampleInventory(
      'example-bgp',
      { ...overrides, frr_upstreams: [{ address: router.address, asn: router.asn }] },
      'frr',
    );
    // The edge's firewall takes the provider's BGP too: without it doctor reports its ruleset as drift.
    const edgeRoles = ['--role', 'frr-edge', '--role', 'firewall', '--limit', 'edge'];
    try {
      const set = await play(['site.yaml', '-i', withUpstream, ...edgeRoles]);
      expect(set.code, failures(set)).toBe(0);
      await eventually(
        'the provider router to hear the pool',
        () => router.received(),
        (r) => r.includes('198.51.100.128/30'),
      );
      const heard = await play(['doctor', '-i', withUpstream], { timeoutMs: 120_000 });
      expect(bad(heard), failures(heard)).toEqual([]);
      expect(finding(heard, 'edge', check)).toMatchObject({
        verdict: 'ok',
        evidence: [
          `${router.address} (AS 64999): Established`,
          'advertised: 198.51.100.128/30',
          'pools: 198.51.100.128/30',
        ],
      });

      await router.stop();
      await eventually('the upstream session down', neighbors, (n) => n[router.address]?.state !== 'Established', {
        timeoutMs: 30_000,
      });
      const silent = await play(['doctor', '-i', withUpstream], { timeoutMs: 120_000 });
      expect(silent.code).toBe(3);
      const f = finding(silent, 'edge', check);
      expect(f?.verdict).toBe('fail');
      expect(f?.evidence.slice(1)).toEqual(['advertised: (nothing)', 'pools: 198.51.100.128/30']);
      expect(f?.cause).toMatch(/is (Active|Connect|Idle|OpenSent): nothing is announced upstream/);
      expect(bad(silent).filter((b) => !b.includes('upstream'))).toEqual([]);
    } finally {
      await router.stop();
      const back = await play(['site.yaml', '-i', inventory, ...edgeRoles]);
      expect(back.code, failures(back)).toBe(0);
      await settled();
    }
  });

  it('FRR stopped on the edge: bgpd not running, and the frr service drifted', async () => {
    await onHostOk('edge', 'systemctl stop frr');
    try {
      const r = await doctor();
      expect(r.code).toBe(3);
      expect(finding(r, 'edge', 'bgpd answers')).toMatchObject({
        verdict: 'fail',
        evidence: ['pgrep -x bgpd: not running'],
      });
      expect(finding(r, 'edge', 'bgpd answers')?.fix).toMatch(/systemctl restart frr/);
      expect(bad(r).filter((b) => b.startsWith('edge drift'))).not.toEqual([]);
    } finally {
      await onHostOk('edge', 'systemctl start frr');
      await settled();
    }
  });

  it("the edge's firewall dropping BGP from one node: the session fails and the ruleset shows as drift", async () => {
    await onHostOk(
      'edge',
      `${NFT} insert rule inet play_firewall input ip saddr ${NODES.w1} tcp dport 179 drop && vtysh -c 'clear bgp ${NODES.w1}'`,
    );
    try {
      const r = await doctor();
      expect(r.code).toBe(3);
      const session = finding(r, 'edge', `BGP session with w1 (${NODES.w1})`);
      expect(session?.verdict).toBe('fail');
      // The edge runs the right password, so doctor blames the filter, not MD5.
      expect(session?.cause).toMatch(/TCP 179 is filtered/);
      const drift = report(r).findings.filter((f) => f.host === 'edge' && f.area === 'drift');
      expect(drift.map((f) => f.check)).toEqual(expect.arrayContaining([expect.stringMatching(/^firewall: /)]));
      expect(drift.flatMap((f) => f.evidence).join('\n')).toContain(`ip saddr ${NODES.w1} tcp dport 179 drop`);
    } finally {
      const fix = await play(['site.yaml', '-i', inventory, '--role', 'firewall', '--limit', 'edge']);
      expect(fix.code, failures(fix)).toBe(0);
      await settled();
    }
  });

  it("a node's firewall dropping the kubelet port: the server's connection attempt is named as dropped, and kubectl logs with it", async () => {
    const w1 = NODES.w1 ?? '';
    const healthy = await doctor();
    expect(finding(healthy, 'cp1', `reaches ${w1}:10250 (kubelet)`)?.verdict).toBe('ok');
    expect(finding(healthy, 'cp1', `reaches ${w1}:7946 (MetalLB's memberlist)`)?.verdict).toBe('ok');
    expect(finding(healthy, 'w1', `reaches ${NODES.cp1}:6443 (Kubernetes API)`)?.verdict).toBe('ok');
    await onHostOk('w1', `${NFT} insert rule inet play_firewall input tcp dport 10250 drop`);
    try {
      const r = await doctor();
      expect(r.code).toBe(3);
      const f = finding(r, 'cp1', `reaches ${w1}:10250 (kubelet)`);
      expect(f?.evidence).toEqual([`TCP connect from cp1 to ${w1}:10250: filtered`]);
      expect(f?.cause).toContain(`a firewall drops 10250/tcp from cp1 to ${w1}`);
      expect(finding(r, 'cluster', 'no errors logged in 15 min')?.verdict).toBe('warn');
    } finally {
      const fix = await play(['site.yaml', '-i', inventory, '--role', 'firewall', '--limit', 'w1']);
      expect(fix.code, failures(fix)).toBe(0);
    }
  });

  it('a Service port left out of firewall_service_ports: kube-proxy in nftables mode still lets the client in, and doctor warns that IPVS would not', async () => {
    const closed = exampleInventory('example-bgp', { ...overrides, firewall_service_ports: [] }, 'frr');
    const set = await play(['site.yaml', '-i', closed, '--role', 'firewall']);
    expect(set.code, failures(set)).toBe(0);
    try {
      const pods = (await echoPods()).map((p) => p.name);
      expect(pods).toContain(await clientRequest(`http://${await serviceIp()}/hostname`));
      const r = await play(['doctor', '-i', closed], { timeoutMs: 120_000 });
      expect(bad(r), failures(r)).toEqual([
        expect.stringMatching(/^cluster service default\/echo-lb port 80\/tcp let through the nodes' firewall: warn/),
      ]);
      expect(r.code).toBe(0);
      const f = finding(r, 'cluster', "default/echo-lb port 80/tcp let through the nodes' firewall");
      expect(f?.evidence).toEqual([
        'not in firewall_service_ports on cp1, w1, w2',
        'cp1: kube-proxy nftables',
        'w1: kube-proxy nftables',
        'w2: kube-proxy nftables',
      ]);
      expect(f?.cause).toMatch(/with kube-proxy in IPVS mode the firewall would drop it/);
    } finally {
      const back = await play(['site.yaml', '-i', inventory, '--role', 'firewall']);
      expect(back.code, failures(back)).toBe(0);
    }
  }, 240_000);

  it("a node's arp_ignore reset to 0: drift on that node, with the sysctl as play sets it", async () => {
    await onHostOk('w1', 'sysctl -qw net.ipv4.conf.all.arp_ignore=0');
    try {
      const r = await doctor();
      expect(r.code).toBe(3);
      const drift = report(r).findings.filter((f) => f.host === 'w1' && f.area === 'drift');
      expect(drift.map((f) => f.check)).toEqual([expect.stringMatching(/^sysctl: /)]);
      expect(drift[0]?.evidence.join('\n')).toMatch(/net\.ipv4\.conf\.all\.arp_ignore \(live\): 0 → 1/);
      expect(drift[0]?.fix).toContain('--role sysctl --limit w1');
    } finally {
      await onHostOk('w1', 'sysctl -qw net.ipv4.conf.all.arp_ignore=1');
    }
  }, 180_000);

  it("kube-proxy's config drifted on a node: the config.yaml diff play would apply", async () => {
    const config = '/etc/rancher/k3s/config.yaml';
    const original = await onHostOk('w2', `cat ${config}`);
    await onHostOk('w2', `sed -i 's/proxy-mode=nftables/proxy-mode=iptables/' ${config}`);
    try {
      const r = await doctor();
      expect(r.code).toBe(3);
      const drift = report(r).findings.filter((f) => f.host === 'w2' && f.area === 'drift');
      // The config's diff, and the restart it would notify.
      expect(drift.map((f) => f.check)).toEqual(['k3s-config: K3s config', 'k3s-config: restart K3s']);
      expect(drift[0]?.evidence.join('\n')).toMatch(/-.*proxy-mode=iptables[\s\S]*\+.*proxy-mode=nftables/);
      // K3s has not restarted: the running kube-proxy still says nftables, as play wants.
      expect(finding(r, 'w2', 'kube-proxy mode')).toMatchObject({
        verdict: 'ok',
        evidence: ["kube-proxy's /configz: mode nftables", 'k3s-config: kube_proxy_mode nftables'],
      });
      // The cluster token is in config.yaml: never in doctor's output.
      const token = /^token: *"?([^"\n]+)"?$/m.exec(await onHostOk('w2', `cat ${config}`))?.[1] ?? '';
      if (token) expect(`${r.stdout}${JSON.stringify(report(r))}`).not.toContain(token);
    } finally {
      await onHostOk('w2', `cat > ${config} <<'PLAY_EOF'\n${original}PLAY_EOF`);
    }
  }, 180_000);

  it('one Service too many exhausts the pool; a Service naming a pool that does not exist; one asking for an address outside the pools', async () => {
    const svc = (name: string, annotation = ''): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
${annotation ? `  annotations: { ${annotation} }\n` : ''}spec:
  type: LoadBalancer
  ports: [{ port: 80, targetPort: 8080 }]
---
`;
    await apply(
      ['fill-1', 'fill-2', 'fill-3', 'one-too-many'].map((n) => svc(n)).join('') +
        svc('gold-svc', 'metallb.io/address-pool: gold') +
        svc('asks-outside', 'metallb.io/loadBalancerIPs: 203.0.113.7'),
    );
    try {
      await eventually(
        'three more addresses taken',
        () =>
          onHostOk(
            'cp1',
            `k3s kubectl get svc -o go-template='{{range .items}}{{range .status.loadBalancer.ingress}}{{.ip}} {{end}}{{end}}'`,
          ),
        (out) => out.trim().split(/\s+/).length === 4,
      );
      const r = await doctor();
      expect(r.code).toBe(3);
      const noAddress = report(r).findings.filter((f) => f.area === 'service' && f.verdict === 'fail');
      expect(noAddress.map((f) => f.check).sort()).toEqual([
        'default/asks-outside has an address',
        'default/gold-svc has an address',
        expect.stringMatching(/^default\/(fill-\d|one-too-many) has an address$/),
      ]);
      const named = (svc: string): Finding | undefined =>
        noAddress.find((f) => f.check === `default/${svc} has an address`);
      const exhausted = noAddress.find((f) => /(fill-\d|one-too-many) has/.test(f.check));
      expect(exhausted?.cause).toBe('pool public-pool exhausted: every address is taken by another Service');
      expect(named('asks-outside')?.cause).toBe('the Service asks for 203.0.113.7, which is in no pool');
      expect(named('gold-svc')?.cause).toBe('the Service asks for pool "gold", which does not exist');
    } finally {
      await onHostOk(
        'cp1',
        'k3s kubectl delete svc fill-1 fill-2 fill-3 one-too-many gold-svc asks-outside --wait=true',
      );
    }
  }, 180_000);

  it("the speaker stopped on one node (a taint it does not tolerate): doctor names the taint, and the node's session fails for it", async () => {
    const taint = 'play-test/maintenance=true:NoExecute';
    const speakerOnW1 = (): Promise<string> =>
      onHostOk(
        'cp1',
        `k3s kubectl -n metallb-system get pods -l component=speaker --field-selector spec.nodeName=w1 -o name`,
      );
    await onHostOk('cp1', `k3s kubectl taint nodes w1 ${taint}`);
    try {
      // The taint manager evicts the speaker; MetalLB's controller, if it ran on w1, moves.
      await eventually('no speaker on w1', speakerOnW1, (out) => out.trim() === '', { timeoutMs: 90_000 });
      await eventually('w1 session down', neighbors, (n) => n[NODES.w1 ?? '']?.state !== 'Established', {
        timeoutMs: 60_000,
      });
      const r = await eventually(
        'the controller ready again',
        () => doctor(),
        (d) => finding(d, 'cluster', 'controller ready')?.verdict === 'ok',
        { timeoutMs: 120_000 },
      );
      expect(r.code).toBe(3);
      const speaker = finding(r, 'w1', 'speaker ready');
      expect(speaker).toMatchObject({
        verdict: 'fail',
        evidence: ['no speaker pod on w1', `w1 is tainted ${taint}`],
      });
      expect(speaker?.fix).toContain(`k3s kubectl taint nodes w1 ${taint}-`);
      expect(finding(r, 'edge', `BGP session with w1 (${NODES.w1})`)?.cause).toBe(
        "MetalLB's speaker on w1 is not running, so nothing connects",
      );
      // The edge routes echo-lb via w2 alone, as it should with w1's speaker gone.
      expect(finding(r, 'edge', `route to default/echo-lb ${await serviceIp()}`)?.verdict).toBe('ok');
      // Nothing else fails but what follows from it: nobody listens on w1's memberlist port.
      expect(
        report(r)
          .findings.filter((f) => f.verdict === 'fail')
          .map((f) => `${f.host} ${f.check}`),
      ).toEqual([
        `cp1 reaches ${NODES.w1}:7946 (MetalLB's memberlist)`,
        'w1 speaker ready',
        `edge BGP session with w1 (${NODES.w1})`,
      ]);
      expect(finding(r, 'cp1', `reaches ${NODES.w1}:7946 (MetalLB's memberlist)`)?.cause).toContain(
        "MetalLB's speaker is not running",
      );
    } finally {
      await onHostOk('cp1', `k3s kubectl taint nodes w1 ${taint}-`);
      await settled();
    }
  }, 300_000);

  it("a node's K3s stopped: the service, the Node and its session fail, each saying why; --limit narrows the report", async () => {
    await onHostOk('w2', 'systemctl stop k3s-agent');
    try {
      const ip = await serviceIp();
      await eventually(
        'w2 withdrawn',
        () => nextHops(ip),
        (h) => h.length === 1,
        { timeoutMs: 60_000 },
      );
      const r = await doctor();
      expect(r.code).toBe(3);
      expect(finding(r, 'w2', 'k3s-agent service active')).toMatchObject({
        verdict: 'fail',
        evidence: ['systemctl is-active k3s-agent: inactive'],
      });
      expect(finding(r, 'edge', `BGP session with w2 (${NODES.w2})`)?.cause).toBe(
        "K3s is not running on w2, and MetalLB's speaker with it",
      );
      const limited = await doctor('--limit', 'w1');
      expect(report(limited).findings.filter((f) => f.host === 'w2')).toEqual([]);
    } finally {
      await onHostOk('w2', 'systemctl start k3s-agent');
      await settled();
    }
  }, 300_000);
});
