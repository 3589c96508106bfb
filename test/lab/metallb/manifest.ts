import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

const CRDS = join(import.meta.dirname, 'crds');
export const METALLB_LAB_VERSION = 'v0.16.1';

/** MetalLB's workloads as its release manifest has them, reduced to what the stand-in stores. */
function workloads(namespace: string): object[] {
  const labels = (component: string) => ({ app: 'metallb', component });
  const pod = (component: string) => ({ metadata: { labels: labels(component) }, spec: { containers: [{ name: component, image: `quay.io/metallb/${component}:${METALLB_LAB_VERSION}` }] } });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'controller', namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'speaker', namespace } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'controller', namespace, labels: labels('controller') }, spec: { replicas: 1, selector: { matchLabels: labels('controller') }, template: pod('controller') } },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'speaker', namespace, labels: labels('speaker') }, spec: { selector: { matchLabels: labels('speaker') }, template: pod('speaker') } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'metallb-webhook-service', namespace }, spec: { ports: [{ port: 443, targetPort: 9443 }], selector: { component: 'controller' } } },
  ];
}

/** The lab's stand-in for `metallb-native.yaml`: the upstream CRDs, then the workloads. */
export async function writeMetallbManifest(file: string): Promise<void> {
  const crds = readdirSync(CRDS).filter((f) => f.endsWith('.yaml')).sort().map((f) => readFileSync(join(CRDS, f), 'utf8').trim());
  const docs = [...crds, ...workloads('metallb-system').map((o) => stringify(o).trim())];
  await writeFile(file, `# MetalLB ${METALLB_LAB_VERSION} for the play lab (see test/lab/metallb/README.md)\n${docs.map((d) => `---\n${d}\n`).join('')}`);
}
