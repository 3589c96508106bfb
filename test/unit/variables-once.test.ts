import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extraVarsLayer } from '../../src/cli/extra-vars.ts';
import { compile, type CompiledRun } from '../../src/engine/compile.ts';
import { InputError } from '../../src/input/errors.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';

const root = join(import.meta.dirname, '../..');
const exampleBgp = join(root, 'inventory/example-bgp');

/** A playbook of the user's own holding only these roles, beside the project's roles. */
function playbookOf(roles: string[], hosts = 'all'): string {
  const dir = mkdtempSync(join(tmpdir(), 'play-book-'));
  symlinkSync(join(root, 'roles'), join(dir, 'roles'));
  const file = join(dir, 'only.yaml');
  writeFileSync(file, `- name: only ${roles.join(', ')}\n  hosts: ${hosts}\n  roles: [${roles.join(', ')}]\n`);
  return file;
}

async function compiled(
  playbook: string,
  extra: Record<string, unknown>[],
  opts: { limit?: string; inventory?: string } = {},
): Promise<CompiledRun | string> {
  try {
    return await compile(loadPlaybook(playbook), loadInventory(opts.inventory ?? exampleBgp), {
      limit: opts.limit,
      extraVars: extra.map((e, i) => extraVarsLayer(JSON.stringify(e), i, root)),
      selection: { tags: [], skipTags: [], roles: [] },
    });
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
}

const site = join(root, 'playbooks/site.yaml');
const peer = {
  name: 'edge-router',
  myASN: 65010,
  peerASN: 65000,
  peerAddress: '192.0.2.1',
  password: 'another-secret-md5',
};

describe('a variable several roles read is declared once: the same checks and masking whatever runs', () => {
  it('a bad ASN is refused with only frr-edge in the playbook, or with --limit edge', async () => {
    const bad = [{ metallb_bgp_peers: [{ ...peer, myASN: 'sixty-four' }] }];
    expect(await compiled(playbookOf(['frr-edge'], 'edge'), bad)).toMatch(
      /-e #1:1:\d+: metallb_bgp_peers\[0\]\.myASN: expected integer/,
    );
    // On the edge two roles read the peers (frr-edge for its neighbors, firewall for what it lets in): one line names both.
    expect(await compiled(site, bad, { limit: 'edge' })).toMatch(
      /metallb_bgp_peers\[0\]\.myASN: expected integer \(roles frr-edge, firewall, host edge\)/,
    );
  });

  it("l2-or-bgp's own checks of the MetalLB variables run with only frr-edge selected, however it is selected", async () => {
    const tooShort = [{ metallb_bgp_peers: [{ ...peer, holdTime: '2s' }] }];
    const message = /metallb_bgp_peers\[0\]\.holdTime: holdTime 2s is below 3s: .* \(role l2-or-bgp, host edge\)/;
    expect(await compiled(playbookOf(['frr-edge'], 'edge'), tooShort)).toMatch(message);
    expect(await compiled(site, tooShort, { limit: 'edge' })).toMatch(message);
    const roleOnly = await compile(loadPlaybook(site), loadInventory(exampleBgp), {
      extraVars: [extraVarsLayer(JSON.stringify(tooShort[0]), 0, root)],
      selection: { tags: [], skipTags: [], roles: ['frr-edge'] },
    }).then(
      () => '',
      (e: unknown) => (e instanceof InputError ? e.message : String(e)),
    );
    expect(roleOnly).toMatch(/holdTime 2s is below 3s: .* \(role l2-or-bgp, host edge\)/);
  });

  it('the BGP password is a secret with only frr-edge in the playbook', async () => {
    const run = await compiled(playbookOf(['frr-edge'], 'edge'), [{ metallb_bgp_peers: [peer] }]);
    expect(typeof run === 'string' ? run : run.secrets).toContain('another-secret-md5');
  });
});

describe('a variable no role declares is a typo or unread, reported where it was set', () => {
  it.each([
    ['frr_maximum_path', 'frr_maximum_paths'],
    ['metallb_pool', 'metallb_pools'],
    ['metallb_bgp_advertisement', 'metallb_bgp_advertisements'],
  ])('%s (did you mean %s?)', async (typo, meant) => {
    const text = await compiled(site, [{ [typo]: 1 }]);
    expect(text).toContain(`-e #1:1:2: ${typo}: no role declares this variable (did you mean "${meant}"?)`);
  });

  it("in group_vars, at its file and line, inside a role's namespace or not (issue 26: firewal_ssh_sources passed)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-inv-'));
    writeFileSync(
      join(dir, 'hosts.yaml'),
      'all:\n  hosts:\n    edge: { ansible_host: 192.0.2.1 }\n  vars:\n    sysctl_extra: {}\n',
    );
    expect(typeof (await compiled(playbookOf(['sysctl'], 'edge'), [], { inventory: dir }))).toBe('object');
    const withTypo = mkdtempSync(join(tmpdir(), 'play-inv-'));
    writeFileSync(
      join(withTypo, 'hosts.yaml'),
      'all:\n  hosts:\n    edge: { ansible_host: 192.0.2.1 }\n  vars:\n    my_own_note: fine\n    sysctl_extras: {}\n    firewal_ssh_sources: [192.0.2.0/24]\n',
    );
    const text = await compiled(playbookOf(['sysctl'], 'edge'), [], { inventory: withTypo });
    expect(text).toMatch(
      /hosts\.yaml:6:\d+: sysctl_extras: no role declares this variable \(did you mean "sysctl_extra"\?\)/,
    );
    expect(text).toMatch(
      /hosts\.yaml:7:\d+: firewal_ssh_sources: no role declares this variable \(did you mean "firewall_ssh_sources"\?\): play does not template values, so nothing would read it/,
    );
    expect(text).toMatch(/hosts\.yaml:5:\d+: my_own_note: no role declares this variable/);
  });

  it('a required variable with no value points at the near name the user did set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-inv-'));
    cpSync(exampleBgp, dir, { recursive: true });
    const vars = join(dir, 'group_vars/all.yaml');
    writeFileSync(vars, readFileSync(vars, 'utf8').replace(/^metallb_pools:/m, 'metallb_pool:'));
    const text = await compiled(site, [], { inventory: dir });
    expect(text).toMatch(
      /group_vars\/all\.yaml:\d+:\d+: metallb_pool: required variable metallb_pools has no value; this looks like a misspelling of it \(role l2-or-bgp, host cp1\)/,
    );
    expect(text).toMatch(
      /group_vars\/all\.yaml:\d+:\d+: metallb_pool: no role declares this variable \(did you mean "metallb_pools"\?\)/,
    );
  });
});
