// Readiness of Kubernetes objects, read in one kubectl call and judged on the controller. Every
// kubectl call is a process start on the server (a K3s kubectl costs a good part of a second of
// CPU), and readiness is read on every rerun: one call for all nodes, or for all of MetalLB's
// objects, keeps that cost flat as the cluster grows.
import { q } from '../../src/transport/shell.ts';

const KUBECTL = 'k3s kubectl';

/** One line per object: `Kind/name value`, the value being whichever of these the kind has. */
const TEMPLATE =
  '{range .items[*]}{.kind}/{.metadata.name} ' +
  '{.status.conditions[?(@.type=="Ready")].status}' +
  '{.status.conditions[?(@.type=="Established")].status}' +
  '{.status.conditions[?(@.type=="Available")].status}' +
  '{.subsets[0].addresses[0].ip}{"\\n"}{end}';

/** What "ready" means for each kind read. */
const READY: Record<string, (value: string) => boolean> = {
  Node: (v) => v === 'True',
  CustomResourceDefinition: (v) => v === 'True',
  Deployment: (v) => v === 'True',
  Endpoints: (v) => v !== '',
};

/** Reads every node. */
export const nodesReading = `${KUBECTL} get nodes -o jsonpath=${q(TEMPLATE)}`;

/** Reads the named objects (`crd/NAME`, `deployment/NAME`, `endpoints/NAME`); absent ones print nothing. */
export function objectsReading(refs: string[], namespace: string): string {
  return `${KUBECTL} get ${refs.map(q).join(' ')} -n ${q(namespace)} --ignore-not-found -o jsonpath=${q(TEMPLATE)}`;
}

/** `Kind/name` → whether that object is ready, for every object the reading printed. */
export function readiness(stdout: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of stdout.split('\n')) {
    const [ref, value = ''] = line.trim().split(/\s+/, 2);
    const kind = ref?.split('/')[0];
    if (ref && kind) out.set(ref, READY[kind]?.(value) ?? false);
  }
  return out;
}
