import { expect } from 'vitest';
import { eventually, onHostOk } from './lab-fixture.ts';

// What the MetalLB end-to-end tests (native and FRR speakers) do to the cluster and read off the
// edge router.

/** The article's echo-lb: externalTrafficPolicy Local, endpoints written by the test (no workload runs here). */
export const echoLb = (ready: Record<string, boolean>): string => `apiVersion: v1
kind: Service
metadata:
  name: echo-lb
  namespace: default
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports:
  - { name: http, port: 80, targetPort: 8080, protocol: TCP }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-lb-test
  namespace: default
  labels: { kubernetes.io/service-name: echo-lb, endpointslice.kubernetes.io/managed-by: play-tests }
addressType: IPv4
ports:
- { name: http, port: 8080, protocol: TCP }
endpoints:
${Object.entries(ready)
  .map(([node, r], i) => `- { addresses: ["10.42.${i + 10}.50"], nodeName: ${node}, conditions: { ready: ${r} } }`)
  .join('\n')}
`;

export const NODES: Record<string, string> = { cp1: '192.0.2.11', w1: '192.0.2.12', w2: '192.0.2.13' };

export const applyCommand = (yaml: string): string => `k3s kubectl apply -f - <<'PLAY_EOF'\n${yaml}PLAY_EOF`;

export async function apply(yaml: string): Promise<void> {
  await onHostOk('cp1', applyCommand(yaml));
}

export interface Neighbor {
  state: string;
  pfxRcd?: number;
}
export async function neighbors(): Promise<Record<string, Neighbor>> {
  const out = JSON.parse(await onHostOk('edge', `vtysh -c 'show bgp ipv4 unicast summary json'`)) as {
    peers?: Record<string, Neighbor>;
  };
  return out.peers ?? {};
}

/** The edge's next hops for a /32, sorted; [] when it has no route. */
export async function nextHops(ip: string): Promise<string[]> {
  const out = JSON.parse(await onHostOk('edge', `vtysh -c 'show ip route ${ip}/32 json'`)) as Record<
    string,
    { protocol: string; selected?: boolean; nexthops: { ip?: string; active?: boolean }[] }[]
  >;
  const routes = (out[`${ip}/32`] ?? []).filter((r) => r.protocol === 'bgp' && r.selected);
  return routes.flatMap((r) => r.nexthops.filter((n) => n.active && n.ip).map((n) => n.ip ?? '')).sort();
}

export const serviceIp = async (): Promise<string> =>
  (
    await onHostOk(
      'cp1',
      `k3s kubectl get svc echo-lb -o go-template='{{range .status.loadBalancer.ingress}}{{.ip}}{{end}}'`,
    )
  ).trim();

/**
 * echo-lb gets an address from the example's pool, the edge routes it to exactly w1 and w2 (the
 * nodes with ready endpoints), and withdraws w2 once its endpoint turns unready.
 */
export async function echoLbFollowsReadyEndpoints(): Promise<void> {
  await apply(echoLb({ w1: true, w2: true }));
  const ip = await eventually('an address for echo-lb', serviceIp, (v) => v !== '');
  expect(ip).toMatch(/^198\.51\.100\.(1[2-5]\d)$/);
  expect(
    await eventually(
      'the edge to route echo-lb via w1 and w2',
      () => nextHops(ip),
      (h) => h.length === 2,
    ),
  ).toEqual([NODES.w1, NODES.w2]);
  await apply(echoLb({ w1: true, w2: false }));
  expect(
    await eventually(
      'w2 withdrawn',
      () => nextHops(ip),
      (h) => h.length === 1,
    ),
  ).toEqual([NODES.w1]);
}
