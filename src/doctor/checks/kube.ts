import type { ClusterFacts, KubeNode, KubePod, KubeService, KubeTaint, KubeToleration } from '../facts.ts';

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

/** A MetalLB annotation on a Service, under its current prefix or the one before v0.13. */
export const metallbAnnotation = (s: KubeService, name: string): string | undefined =>
  s.metadata.annotations?.[`metallb.io/${name}`] ?? s.metadata.annotations?.[`metallb.universe.tf/${name}`];

/** The address pool a Service asks for by annotation, if any. */
export const requestedPool = (s: KubeService): string | undefined => metallbAnnotation(s, 'address-pool');

/** MetalLB's speaker pods by node. */
export function speakersByNode(c: ClusterFacts, namespace: string): Map<string, KubePod> {
  const out = new Map<string, KubePod>();
  for (const p of c.pods)
    if (p.metadata.namespace === namespace && p.metadata.labels?.component === 'speaker' && p.spec.nodeName)
      out.set(p.spec.nodeName, p);
  return out;
}

const formatTaint = (t: KubeTaint): string => `${t.key ?? ''}${t.value ? `=${t.value}` : ''}:${t.effect ?? ''}`;

/** Whether a toleration lets a pod on a node with the taint (Kubernetes' own matching rules). */
function tolerates(t: KubeToleration, taint: KubeTaint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

/**
 * The taints on a node that keep pods with these tolerations off it, as `key=value:Effect`.
 * Only NoSchedule and NoExecute keep a DaemonSet's pod away; PreferNoSchedule does not.
 */
export function untoleratedTaints(node: KubeNode | undefined, tolerations: KubeToleration[]): string[] {
  return (node?.spec?.taints ?? [])
    .filter((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute')
    .filter((taint) => !tolerations.some((t) => tolerates(t, taint)))
    .map(formatTaint);
}

export const nodeNamed = (c: ClusterFacts, name: string): KubeNode | undefined =>
  c.nodes.find((n) => n.metadata.name === name);
