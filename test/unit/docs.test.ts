import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { siteRolesDoc, siteRolesTypes } from '../../src/docs/site-roles.ts';

const root = join(import.meta.dirname, '../..');

describe('docs/variables.md', () => {
  it('is what the role schemas generate (run `npm run docs` after changing a variables.yaml)', () => {
    expect(readFileSync(join(root, 'docs/variables.md'), 'utf8')).toBe(siteRolesDoc(root));
  });
  it('documents every variable of every role in site.yaml, secrets marked', () => {
    const doc = siteRolesDoc(root);
    for (const v of [
      'k3s_token',
      'kube_proxy_mode',
      'sysctl_extra',
      'metallb_speaker_mode',
      'metallb_pools',
      'metallb_bgp_peers[].keepaliveTime',
      'frr_upstreams[].password',
      'firewall_ssh_sources',
    ])
      expect(doc).toContain(`\`${v}\``);
    expect(doc).toMatch(/`k3s_token` .*\*\*Secret\.\*\*/);
    expect(doc).toMatch(/`metallb_bgp_peers\[\]\.password` .*\*\*Secret\.\*\*/);
  });
});

describe('roles/*/variables.gen.ts', () => {
  it("is the type the role schemas generate (run `npm run docs` after changing a variables.yaml), so a role's vars cannot drift from what is validated", async () => {
    const generated = await siteRolesTypes(root);
    expect(generated.size).toBe(7);
    for (const [path, text] of generated) expect(readFileSync(path, 'utf8'), path).toBe(text);
  });
  it("types a borrowed variable by its owner's type, written out once there, optional where the borrower can do without it", async () => {
    const generated = await siteRolesTypes(root);
    const owner = generated.get(join(root, 'roles/l2-or-bgp/variables.gen.ts')) ?? '';
    expect(owner).toMatch(/metallb_pools: \{\n(.*\n)*?\s+addresses: string\[\];/);
    expect(owner).toMatch(/metallb_mode: 'layer2' \| 'bgp';/);
    const sysctl = generated.get(join(root, 'roles/sysctl/variables.gen.ts')) ?? '';
    expect(sysctl).toContain("import type { Vars as L2OrBgpVars } from '../l2-or-bgp/variables.gen.ts';");
    expect(sysctl).toContain("metallb_pools?: Required<L2OrBgpVars>['metallb_pools'];");
    const frr = generated.get(join(root, 'roles/frr-edge/variables.gen.ts')) ?? '';
    expect(frr).toContain("metallb_bgp_peers: Required<L2OrBgpVars>['metallb_bgp_peers'];");
    expect(frr).not.toMatch(/myASN/);
  });
});

describe('docs/vars.schema.json', () => {
  it('is what the role and connection schemas generate (npm run docs), and an editor using it accepts the examples and marks a typo', async () => {
    const { siteVarsSchema } = await import('../../src/docs/site-roles.ts');
    const text = readFileSync(join(root, 'docs/vars.schema.json'), 'utf8');
    expect(text).toBe(siteVarsSchema(root));
    const { Ajv } = await import('ajv');
    const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(text) as object);
    const { parse } = await import('yaml');
    for (const example of ['example-bgp', 'example-l2']) {
      const vars = parse(readFileSync(join(root, 'inventory', example, 'group_vars/all.yaml'), 'utf8')) as object;
      expect(validate(vars), JSON.stringify(validate.errors)).toBe(true);
    }
    expect(validate({ firewal_ssh_sources: ['192.0.2.0/24'] })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({
      keyword: 'additionalProperties',
      params: { additionalProperty: 'firewal_ssh_sources' },
    });
    expect(validate({ firewall_ssh_port: 'ssh' })).toBe(false);
    expect(validate({ ansible_user: 'debian', ansible_port: 2222, k3s_token: 'a-long-enough-token-value' })).toBe(true);
  });
});
