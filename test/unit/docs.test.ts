import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { siteRolesDoc } from '../../src/docs/site-roles.ts';

const root = join(import.meta.dirname, '../..');

describe('docs/variables.md', () => {
  it('is what the role schemas generate (run `npm run docs` after changing a variables.yaml)', () => {
    expect(readFileSync(join(root, 'docs/variables.md'), 'utf8')).toBe(siteRolesDoc(root));
  });
  it('documents every variable of every role in site.yaml, secrets marked', () => {
    const doc = siteRolesDoc(root);
    for (const v of ['k3s_token', 'kube_proxy_mode', 'sysctl_extra', 'metallb_speaker_mode', 'metallb_pools', 'metallb_bgp_peers[].keepaliveTime', 'frr_upstreams[].password', 'firewall_ssh_sources']) expect(doc).toContain(`\`${v}\``);
    expect(doc).toMatch(/`k3s_token` .*\*\*Secret\.\*\*/);
    expect(doc).toMatch(/`metallb_bgp_peers\[\]\.password` .*\*\*Secret\.\*\*/);
  });
});
