import { isMap, isSeq, parseDocument, type Document } from 'yaml';

/** What kubectl needs changed in K3s's own kubeconfig to use it from elsewhere. */
export interface KubeconfigTarget {
  /** https://ADDRESS:6443 as kubectl reaches the server. */
  server: string;
  /** The cluster's, user's and context's name (K3s calls each `default`, which collides when merged). */
  name: string;
}

/** The API server's URL for an address, IPv6 in brackets. */
export const serverUrl = (address: string): string =>
  `https://${address.includes(':') ? `[${address}]` : address}:6443`;

/**
 * K3s's /etc/rancher/k3s/k3s.yaml made usable from a workstation: every cluster's server set to
 * `target.server`, and `default` renamed. Everything else (the credentials) is kept as read.
 * Returns why not where the text is not a kubeconfig K3s wrote.
 */
export function rewriteKubeconfig(text: string, target: KubeconfigTarget): string | { problem: string } {
  let doc: Document;
  try {
    doc = parseDocument(text);
  } catch {
    return { problem: 'it is not YAML' };
  }
  if (doc.errors.length > 0 || !isMap(doc.contents) || doc.get('kind') !== 'Config')
    return { problem: 'it is not a kubeconfig (kind: Config)' };
  const clusters = doc.get('clusters');
  if (!isSeq(clusters) || clusters.items.length === 0) return { problem: 'it names no cluster' };
  for (const c of clusters.items) if (isMap(c)) c.setIn(['cluster', 'server'], target.server);
  const rename = (list: string, fields: string[]): void => {
    const seq = doc.get(list);
    if (!isSeq(seq)) return;
    for (const item of seq.items) {
      if (!isMap(item)) continue;
      for (const f of fields) {
        const path = f.split('.');
        if (item.getIn(path) === 'default') item.setIn(path, target.name);
      }
    }
  };
  rename('clusters', ['name']);
  rename('users', ['name']);
  rename('contexts', ['name', 'context.cluster', 'context.user']);
  if (doc.get('current-context') === 'default') doc.set('current-context', target.name);
  return doc.toString();
}

/** The secrets a kubeconfig holds: masked wherever play could show them. */
export function kubeconfigSecrets(text: string): string[] {
  return [...text.matchAll(/^\s*(?:client-key-data|client-certificate-data|token|password):\s*(\S+)\s*$/gm)].map(
    (m) => m[1] ?? '',
  );
}
