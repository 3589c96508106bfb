import { beforeAll, expect, it } from 'vitest';
import { cutHost, reconnectHost, summarize } from '../lab/traffic/traffic.ts';
import { labExampleVars } from '../lab/example-inventory.ts';
import { describeLab, eventually, freshHosts, lab, onHost, onHostOk } from './lab-fixture.ts';
import { exampleInventory, failures, play } from './play-runner.ts';
import {
  applyCommand,
  echoFollowsReadiness,
  neighbors,
  nextHops,
  NODES,
  routedVia,
  serviceIp,
} from './metallb-edge.ts';
import { recordFigure, requestsDuring } from './traffic.ts';

/**
 * The article's BGP setup end to end on the lab, with the real Kubernetes control plane and the
 * real MetalLB (controller, webhook, speakers): site.yaml, then a LoadBalancer Service gets an
 * address and the edge learns it from the nodes that hold ready endpoints.
 */

/** The article's BGPPeer with one timer field as written, applied to the real API server. */
const applyPeerWith = (field: string) =>
  onHost(
    'cp1',
    applyCommand(`apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: article, namespace: metallb-system }
spec: { myASN: 65010, peerASN: 65000, peerAddress: 192.0.2.1, ${field}: 60s }
`),
  );

describeLab('MetalLB for real: a LoadBalancer Service gets an address and the edge learns it (BGP)', () => {
  let inventory = '';
  beforeAll(async () => {
    await freshHosts('edge', 'cp1', 'w1', 'w2');
    // A 15 s hold time (keepalives every 5 s) in place of the article's 180 s: the hold timer's
    // part in a node's failure is measured below in seconds, not minutes.
    const peers = (labExampleVars('example-bgp').metallb_bgp_peers as Record<string, unknown>[]).map((p) => ({
      ...p,
      holdTime: '15s',
    }));
    inventory = exampleInventory('example-bgp', {
      firewall_rollback_seconds: 10,
      ansible_timeout: 4,
      metallb_bgp_peers: peers,
    });
    const r = await play(['site.yaml', '-i', inventory]);
    expect(r.code, failures(r)).toBe(0);
  }, 600_000);

  it('runs the real controller and a real speaker on every node, Ready by their own health endpoints', async () => {
    const pods = await eventually(
      'MetalLB pods ready',
      async () =>
        onHostOk(
          'cp1',
          `k3s kubectl -n metallb-system get pods -o go-template='{{range .items}}{{.metadata.labels.component}} {{.spec.nodeName}} {{range .status.conditions}}{{if eq .type "Ready"}}{{.status}}{{end}}{{end}}{{"\\n"}}{{end}}'`,
        ),
      (out) => out.trim().split('\n').length === 4 && !out.includes('False'),
    );
    const lines = pods.trim().split('\n').sort();
    expect(lines.filter((l) => l.startsWith('speaker'))).toEqual([
      'speaker cp1 True',
      'speaker w1 True',
      'speaker w2 True',
    ]);
    expect(lines.filter((l) => l.startsWith('controller'))).toEqual([
      expect.stringMatching(/^controller (cp1|w1|w2) True$/),
    ]);
  });

  it("every node's speaker reaches Established with the edge, with the MD5 password", async () => {
    const peers = await eventually(
      'BGP sessions',
      neighbors,
      (n) => Object.keys(NODES).every((h) => n[NODES[h] ?? '']?.state === 'Established'),
      { timeoutMs: 90_000 },
    );
    expect(Object.keys(peers).sort()).toEqual(Object.values(NODES).sort());
    // The edge's neighbors are configured with the password; the last test shows a wrong one gets no session.
    expect(await onHostOk('edge', `vtysh -c 'show running-config' | grep -c 'password'`)).toMatch(/^3\s*$/);
  });

  it('the real webhook and API server refuse what the article gets wrong, and accept everything the roles render', async () => {
    const wrongSpelling = await applyPeerWith('keepAliveTime');
    expect(wrongSpelling.exitCode).toBe(1);
    expect(wrongSpelling.stderr).toContain('unknown field "spec.keepAliveTime"');
    const nativeKeepalive = await applyPeerWith('keepaliveTime');
    expect(nativeKeepalive.exitCode).toBe(1);
    expect(nativeKeepalive.stderr).toMatch(
      /admission webhook "bgppeersvalidationwebhook\.metallb\.io" denied the request: .*keepalive-time set on native bgp mode/,
    );
    const rerun = await play(['site.yaml', '-i', inventory, '--role', 'l2-or-bgp']);
    expect(rerun.code, failures(rerun)).toBe(0);
  });

  it("echo-lb gets an address from the pool; the edge routes it to exactly the nodes with a ready pod, and withdraws a node whose pod's readiness probe fails", async () => {
    await echoFollowsReadiness();
  });

  it('without BFD, a node cut off abruptly keeps its path at the edge until the hold timer expires, and the client loses the requests sent down it', async () => {
    const ip = await serviceIp();
    await routedVia(ip, ['w1', 'w2']);
    let cutAt = 0;
    let goneAt = 0;
    const list = await requestsDuring(`http://${ip}/hostname`, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      cutAt = await cutHost(lab().names, 'w1');
      try {
        await eventually(
          'the edge to drop w1',
          () => nextHops(ip),
          (h) => !h.includes(NODES.w1 ?? ''),
          {
            timeoutMs: 40_000,
            intervalMs: 100,
          },
        );
        goneAt = Date.now();
      } finally {
        await reconnectHost(lab().names, 'w1');
      }
    });
    const kept = goneAt - cutAt;
    // The edge hears nothing from w1 after the cut and gives up 15 s after the last keepalive it
    // got, which came at most 5 s before the cut.
    expect(kept).toBeGreaterThanOrEqual(9_000);
    expect(kept).toBeLessThanOrEqual(17_000);
    const s = summarize(list);
    const failed = s.disturbed.filter((r) => r.error !== undefined);
    const seen = JSON.stringify({
      kept,
      total: s.total,
      failed: failed.length,
      errors: s.errors,
      first: s.disturbed[0],
      last: s.disturbed.at(-1),
    });
    // Connections hashed to w1 while the edge kept it got no answer there: answered late, on a
    // SYN retransmitted after the path went (TCP retries after 1, 3, 7 s), or not within 10 s.
    const sentMeanwhile = list.filter((r) => r.at >= cutAt && r.at < goneAt);
    const hit = sentMeanwhile.filter((r) => r.error !== undefined || r.ms > 500);
    expect(hit.length, seen).toBeGreaterThan(sentMeanwhile.length * 0.2);
    for (const r of s.disturbed) expect(r.at, JSON.stringify(r)).toBeGreaterThanOrEqual(cutAt - 50);
    for (const r of s.disturbed) expect(r.at, JSON.stringify(r)).toBeLessThan(goneAt + 100);
    recordFigure(
      'hold timer keeps dead path',
      kept,
      'ms',
      "w1's link cut; native speaker, no BFD, holdTime 15s (keepalive 5s): until the edge dropped w1's route",
    );
    recordFigure(
      'hold timer client hit',
      hit.length,
      'requests',
      `of ${sentMeanwhile.length} sent meanwhile (one every 20 ms): ${failed.length} unanswered within 10 s, the others answered late (slowest ${s.slowestMs} ms)`,
    );
    await routedVia(ip, ['w1', 'w2'], 120_000);
  }, 240_000);

  it("stopping a node's K3s (its speaker with it) removes its path; starting it brings the path back", async () => {
    const ip = await serviceIp();
    await routedVia(ip, ['w1', 'w2']);
    await onHostOk('w1', 'systemctl stop k3s-agent');
    try {
      expect(
        await eventually(
          'w1 gone',
          () => nextHops(ip),
          (h) => h.length === 1,
          { timeoutMs: 60_000 },
        ),
      ).toEqual([NODES.w2]);
    } finally {
      await onHostOk('w1', 'systemctl start k3s-agent');
    }
    expect(
      await eventually(
        'w1 back',
        () => nextHops(ip),
        (h) => h.length === 2,
        { timeoutMs: 120_000 },
      ),
    ).toEqual([NODES.w1, NODES.w2]);
  });

  it('a wrong MD5 password on the edge gets no session', async () => {
    await onHostOk(
      'edge',
      `vtysh -c 'configure terminal' -c 'router bgp 65000' -c 'neighbor ${NODES.w2} password not-the-password' -c 'end' -c 'clear bgp ${NODES.w2}'`,
    );
    try {
      await eventually('w2 session down', neighbors, (n) => n[NODES.w2 ?? '']?.state !== 'Established', {
        timeoutMs: 30_000,
      });
      // Long enough for a few of the speaker's connection attempts: none gets through.
      await new Promise((r) => setTimeout(r, 10_000));
      expect((await neighbors())[NODES.w2 ?? '']?.state).not.toBe('Established');
    } finally {
      // The change was made in FRR's running configuration only; frr.conf on disk is still play's,
      // so a play run sees nothing to do. A reload puts frr.conf back in force.
      await onHostOk('edge', 'systemctl reload frr');
    }
    await eventually('w2 back', neighbors, (n) => n[NODES.w2 ?? '']?.state === 'Established', { timeoutMs: 90_000 });
  }, 300_000);
});
