import type { ClusterFacts, KubePod, KubeService } from '../facts.ts';

/** Readings of Kubernetes objects the checks share. */

export const podReady = (p: KubePod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Why a pod is not ready, from its containers' states. */
export function podTrouble(p: KubePod): string {
  const waiting = (p.status?.containerStatuses ?? [])
    .filter((c) => !c.ready)
    .map((c) => {
      const [state, detail] = Object.entries(c.state ?? {})[0] ?? ['unknown', {}];
      return `${c.name} ${detail.reason ?? state}${detail.message ? `: ${detail.message}` : ''}`;
    });
  return `${p.metadata.name} on ${p.spec.nodeName ?? '(unscheduled)'}: ${p.status?.phase ?? 'Pending'}${waiting.length ? `; ${waiting.join('; ')}` : ''}`;
}

export const loadBalancers = (c: ClusterFacts): KubeService[] =>
  c.services.filter((s) => s.spec.type === 'LoadBalancer');

export const serviceIps = (s: KubeService): string[] =>
  (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);

export const serviceName = (s: KubeService): string => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;

/** Nodes holding a ready endpoint of the Service (what decides, with externalTrafficPolicy Local, who announces). */
export function readyEndpointNodes(c: ClusterFacts, s: KubeService): string[] {
  const slices = c.endpointSlices.filter(
    (e) =>
      e.metadata.namespace === s.metadata.namespace &&
      e.metadata.labels?.['kubernetes.io/service-name'] === s.metadata.name,
  );
  const nodes = slices.flatMap((e) =>
    (e.endpoints ?? []).filter((ep) => ep.conditions?.ready !== false && ep.nodeName).map((ep) => ep.nodeName ?? ''),
  );
  return [...new Set(nodes)].sort();
}

/** The address pool a Service asks for by annotation, if any. */
export const requestedPool = (s: KubeService): string | undefined =>
  s.metadata.annotations?.['metallb.io/address-pool'] ?? s.metadata.annotations?.['metallb.universe.tf/address-pool'];

/** MetalLB's speaker pods by node. */
export function speakersByNode(c: ClusterFacts, namespace: string): Map<string, KubePod> {
  const out = new Map<string, KubePod>();
  for (const p of c.pods)
    if (p.metadata.namespace === namespace && p.metadata.labels?.component === 'speaker' && p.spec.nodeName)
      out.set(p.spec.nodeName, p);
  return out;
}
