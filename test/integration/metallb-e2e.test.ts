import { beforeAll, expect, it } from 'vitest';
import { describeLab, eventually, freshHosts, onHost, onHostOk } from './lab-fixture.ts';
import { failures, play, siteInventory } from './play-runner.ts';
import {
  apply,
  applyCommand,
  echoLb,
  echoLbFollowsReadyEndpoints,
  neighbors,
  nextHops,
  NODES,
  serviceIp,
} from './metallb-edge.ts';

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
    inventory = siteInventory('example-bgp');
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

  it('echo-lb gets an address from the pool; the edge routes it to exactly the nodes with ready endpoints, and withdraws a node whose endpoint turns unready', async () => {
    await echoLbFollowsReadyEndpoints();
  });

  it("stopping a node's K3s (its speaker with it) removes its path; starting it brings the path back", async () => {
    await apply(echoLb({ w1: true, w2: true }));
    const ip = await serviceIp();
    await eventually(
      'both paths',
      () => nextHops(ip),
      (h) => h.length === 2,
    );
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
