// Readiness of Kubernetes objects, judged on the controller from a shared reading: every node's
// and MetalLB's readiness on a server is one kubectl call. Each call is a process start on the
// server (a K3s kubectl costs a good part of a second of CPU), and readiness is read on every
// rerun: one call keeps that cost flat as the cluster grows.
import { kubeStatusProbe, type Probe } from 'vds-play/role';
import { KUBECTL } from './k3s-paths.ts';

/** One line per object: `Kind/name value`, the value being whichever of these the kind has. */
const TEMPLATE =
  '{{.kind}}/{{.metadata.name}} ' +
  '{{range .status.conditions}}{{if or (eq .type "Ready") (eq .type "Established") (eq .type "Available")}}{{.status}}{{end}}{{end}}' +
  '{{range .subsets}}{{range .addresses}}{{.ip}},{{end}}{{end}}{{"\\n"}}';

/** What "ready" means for each kind read. */
const READY: Record<string, (value: string) => boolean> = {
  Node: (v) => v === 'True',
  CustomResourceDefinition: (v) => v === 'True',
  Deployment: (v) => v === 'True',
  Endpoints: (v) => v !== '',
};

/** Reads a node (named as in the inventory); a node not registered yet prints nothing. */
export const nodeReading = (name: string): Probe =>
  kubeStatusProbe({ kubectl: KUBECTL, template: TEMPLATE, refs: [`node/${name}`] });

/** Reads the named objects (`crd/NAME`, `deployment/NAME`, `endpoints/NAME`); absent ones print nothing. */
export const objectsReading = (refs: string[], namespace: string): Probe =>
  kubeStatusProbe({ kubectl: KUBECTL, template: TEMPLATE, namespace, refs });

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
