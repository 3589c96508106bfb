import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeconfigSecrets, rewriteKubeconfig, serverUrl } from '../../src/kubeconfig/rewrite.ts';

// As K3s writes /etc/rancher/k3s/k3s.yaml (keys shortened).
const K3S = readFileSync(join(import.meta.dirname, '../fixtures/kubeconfig/k3s.yaml'), 'utf8');

describe('play kubeconfig: K3s kubeconfig made usable from a workstation', () => {
  it("points every cluster at the server's address and renames K3s's `default`; credentials kept as read", () => {
    const out = rewriteKubeconfig(K3S, { server: serverUrl('192.0.2.11'), name: 'prod' });
    expect(typeof out).toBe('string');
    const doc = parse(out as string) as Record<string, unknown>;
    const before = parse(K3S) as Record<string, unknown>;
    expect(doc).toEqual({
      ...before,
      clusters: [
        {
          name: 'prod',
          cluster: { server: 'https://192.0.2.11:6443', 'certificate-authority-data': expect.any(String) },
        },
      ],
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'prod' } }],
      'current-context': 'prod',
      users: [{ name: 'prod', user: (before.users as { user: unknown }[])[0]?.user }],
    });
  });
  it('an IPv6 address goes in brackets', () => {
    expect(serverUrl('2001:db8::11')).toBe('https://[2001:db8::11]:6443');
  });
  it('refuses what is not a kubeconfig, saying so', () => {
    expect(rewriteKubeconfig('not: [yaml', { server: 'https://a:6443', name: 'x' })).toEqual({
      problem: 'it is not a kubeconfig (kind: Config)',
    });
    expect(rewriteKubeconfig('kind: Config\nclusters: []\n', { server: 'https://a:6443', name: 'x' })).toEqual({
      problem: 'it names no cluster',
    });
  });
  it('finds the credentials, to mask them', () => {
    const secrets = kubeconfigSecrets(K3S);
    expect(secrets).toHaveLength(2);
    for (const s of secrets) expect(K3S).toContain(`-data: ${s}`);
  });
});
