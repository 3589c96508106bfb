import { beforeAll, expect, it } from 'vitest';
import { $ } from 'zx';
import { describeLab, eventually, freshHosts, lab, onHostOk } from './lab-fixture.ts';
import { exampleInventory, failures, play } from './play-runner.ts';

/**
 * The article's layer2 setup on the lab with the real MetalLB: one node's speaker answers ARP for
 * a Service's address, and another takes over when it stops. The pool sits in the nodes' subnet,
 * so the lab's controller namespace, on the same segment, asks for it.
 */
const POOL = '192.0.2.200-192.0.2.210';
const NODES = ['cp1', 'w1', 'w2'];

const service = `apiVersion: v1
kind: Service
metadata: { name: echo-l2, namespace: default }
spec:
  type: LoadBalancer
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-l2-test
  namespace: default
  labels: { kubernetes.io/service-name: echo-l2, endpointslice.kubernetes.io/managed-by: play-tests }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
- { addresses: [10.42.10.50], nodeName: w1, conditions: { ready: true } }
- { addresses: [10.42.11.50], nodeName: w2, conditions: { ready: true } }
`;

/**
 * The MACs that answer ARP for ip, asked `count` times (a second apart) with arping from the
 * controller namespace (on the nodes' segment), distinct and sorted; [] when nobody answers.
 */
async function arpAnswers(ip: string, count = 3): Promise<string[]> {
  const ns = lab().names.controller;
  const out = (
    await $({ quiet: true, nothrow: true })`ip netns exec ${ns} arping -c ${count} -w ${count + 1} -I br0 ${ip}`
  ).stdout;
  return [
    ...new Set([...out.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)].map((m) => (m[1] ?? '').toLowerCase())),
  ].sort();
}

describeLab(
  'MetalLB for real, layer2: exactly one node answers ARP for a Service address, and another takes over',
  () => {
    const macs = new Map<string, string>();
    beforeAll(async () => {
      await freshHosts('cp1', 'w1', 'w2');
      const inventory = exampleInventory('example-l2', { metallb_pools: [{ name: 'public-pool', addresses: [POOL] }] });
      const r = await play(['site.yaml', '-i', inventory, '--limit', 'k3s_cluster']);
      expect(r.code, failures(r)).toBe(0);
      for (const node of NODES) macs.set((await onHostOk(node, 'cat /sys/class/net/eth0/address')).trim(), node);
    }, 600_000);

    it("the Service gets an address of the pool, and one node's MAC answers for it; stopping that node moves the answer to another within seconds", async () => {
      await onHostOk('cp1', `k3s kubectl apply -f - <<'PLAY_EOF'\n${service}PLAY_EOF`);
      const ip = await eventually(
        'an address for echo-l2',
        async () =>
          (
            await onHostOk(
              'cp1',
              `k3s kubectl get svc echo-l2 -o go-template='{{range .status.loadBalancer.ingress}}{{.ip}}{{end}}'`,
            )
          ).trim(),
        (v) => v !== '',
      );
      expect(ip).toMatch(/^192\.0\.2\.(20\d|210)$/);
      const answers = await eventually(
        'an ARP answer',
        () => arpAnswers(ip),
        (m) => m.length > 0,
        { timeoutMs: 60_000 },
      );
      expect(answers).toHaveLength(1);
      const first = answers[0] ?? '';
      const owner = macs.get(first) ?? '';
      expect(NODES).toContain(owner);

      const unit = owner === 'cp1' ? 'k3s' : 'k3s-agent';
      const stopped = Date.now();
      await onHostOk(owner, `systemctl stop ${unit}`);
      try {
        const next = await eventually(
          'another node answering',
          () => arpAnswers(ip, 1),
          (m) => m.length > 0 && !m.includes(first),
          { timeoutMs: 90_000, intervalMs: 0 },
        );
        const failoverMs = Date.now() - stopped;
        console.log(
          `layer2 failover: ${owner} stopped, ${next.map((m) => macs.get(m)).join(', ')} answers ARP for ${ip} after ${(failoverMs / 1000).toFixed(1)} s`,
        );
        const settled = await arpAnswers(ip);
        expect(settled).toHaveLength(1);
        expect(NODES.filter((n) => n !== owner)).toContain(macs.get(settled[0] ?? ''));
      } finally {
        await onHostOk(owner, `systemctl start ${unit}`);
      }
    }, 300_000);
  },
);
