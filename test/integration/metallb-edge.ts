import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { projectRoot } from '../lab/paths.ts';
import { eventually, onHostOk } from './lab-fixture.ts';

// What the MetalLB end-to-end tests (native, FRR and layer2 speakers, doctor) do to the cluster
// and read off the edge router. The workload is the demo's: real agnhost pods behind echo-lb.

export const NODES: Record<string, string> = { cp1: '192.0.2.11', w1: '192.0.2.12', w2: '192.0.2.13' };

/** The demo's echo-lb (test/lab/demo/echo-lb.yaml): a Deployment of agnhost netexec on the agents, its PDB and the Service. */
export const ECHO = readFileSync(join(projectRoot, 'test/lab/demo/echo-lb.yaml'), 'utf8');

type Doc = Record<string, unknown> & { kind?: string };
type Container = Record<string, unknown>;

/** The demo's manifest with its netexec container changed (the Service and PDB as they are). */
function withContainer(change: (c: Container) => Container): string {
  const docs = parseAllDocuments(ECHO).map((d) => d.toJS() as Doc);
  for (const doc of docs) {
    if (doc.kind !== 'Deployment') continue;
    const pod = (doc as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec;
    pod.containers = pod.containers.map(change);
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

/**
 * The demo's echo-lb with a readiness probe a test can fail from inside a pod: the pod is ready
 * while its /tmp/unready does not exist, and the app itself creates it (agnhost's /shell, see
 * markUnready). A preStop hook creates it too, so a deleted pod leaves the endpoints (and its node's
 * route) while netexec still serves: the graceful shutdown /readyz gives the demo's.
 */
export const ECHO_TOGGLED = withContainer((c) => ({
  ...c,
  readinessProbe: { exec: { command: ['sh', '-c', 'test ! -e /tmp/unready'] }, periodSeconds: 1, failureThreshold: 1 },
  lifecycle: { preStop: { exec: { command: ['touch', '/tmp/unready'] } } },
}));

export const applyCommand = (yaml: string): string => `k3s kubectl apply -f - <<'PLAY_EOF'\n${yaml}PLAY_EOF`;

export async function apply(yaml: string): Promise<void> {
  await onHostOk('cp1', applyCommand(yaml));
}

export interface EchoPod {
  name: string;
  node: string;
  ip: string;
  ready: boolean;
}

/** The echo Deployment's pods that are not terminating. */
export async function echoPods(): Promise<EchoPod[]> {
  const out = await onHostOk(
    'cp1',
    `k3s kubectl get pods -l app=echo -o go-template='{{range .items}}{{if not .metadata.deletionTimestamp}}{{.metadata.name}} {{.spec.nodeName}} {{.status.podIP}} {{range .status.conditions}}{{if eq .type "Ready"}}{{.status}}{{end}}{{end}}{{"\\n"}}{{end}}{{end}}'`,
  );
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name = '', node = '', ip = '', ready = ''] = l.split(' ');
      return { name, node, ip, ready: ready === 'True' };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** Applies echo-lb and waits for its two pods, ready, one on each agent, and its address. */
export async function deployEcho(manifest = ECHO): Promise<{ ip: string; pods: EchoPod[] }> {
  await apply(manifest);
  const pods = await eventually(
    'two ready echo pods, on w1 and w2',
    echoPods,
    (p) => p.length === 2 && p.every((x) => x.ready) && p.map((x) => x.node).join() === 'w1,w2',
    { timeoutMs: 120_000 },
  );
  const ip = await eventually('an address for echo-lb', serviceIp, (v) => v !== '');
  return { ip, pods };
}

/** A GET to a pod's own address (port 8080, agnhost's), asked from its node: the only host with a route to it. */
export async function podGet(pod: Pick<EchoPod, 'node' | 'ip'>, path: string): Promise<string> {
  return onHostOk(
    pod.node,
    `python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' 'http://${pod.ip}:8080${path}'`,
  );
}

/** Runs a shell command in an agnhost pod through the app's own /shell endpoint (netexec). */
export const podShell = (pod: Pick<EchoPod, 'node' | 'ip'>, command: string): Promise<string> =>
  podGet(pod, `/shell?cmd=${encodeURIComponent(command)}`);

/** The pod's readiness probe fails from now on: the app marks itself unready. */
export const markUnready = (pod: EchoPod): Promise<string> => podShell(pod, 'touch /tmp/unready');
export const markReady = (pod: EchoPod): Promise<string> => podShell(pod, 'rm -f /tmp/unready');

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

/** Waits until the edge routes ip via exactly these nodes. */
export async function routedVia(ip: string, nodes: string[], timeoutMs = 120_000): Promise<void> {
  const want = nodes.map((n) => NODES[n] ?? n).sort();
  expect(
    await eventually(
      `the edge to route ${ip} via ${nodes.join(', ') || 'nothing'}`,
      () => nextHops(ip),
      (h) => h.join() === want.join(),
      { timeoutMs },
    ),
  ).toEqual(want);
}

export const serviceIp = async (name = 'echo-lb'): Promise<string> =>
  (
    await onHostOk(
      'cp1',
      `k3s kubectl get svc ${name} -o go-template='{{range .status.loadBalancer.ingress}}{{.ip}}{{end}}'`,
    )
  ).trim();

/**
 * echo-lb gets an address from the example's pool, the edge routes it to exactly w1 and w2 (the
 * nodes with ready pods), withdraws w2 once its pod's readiness probe fails, and routes it again
 * once the probe passes.
 */
export async function echoFollowsReadiness(): Promise<void> {
  const { ip, pods } = await deployEcho(ECHO_TOGGLED);
  expect(ip).toMatch(/^198\.51\.100\.(1[2-5]\d)$/);
  await routedVia(ip, ['w1', 'w2']);
  const w2 = pods.find((p) => p.node === 'w2');
  if (!w2) throw new Error('no echo pod on w2');
  await markUnready(w2);
  try {
    await routedVia(ip, ['w1'], 30_000);
  } finally {
    await markReady(w2);
  }
  await routedVia(ip, ['w1', 'w2'], 30_000);
}
