import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extraVarsLayer } from '../../src/cli/extra-vars.ts';
import { compile, connectionPlan } from '../../src/engine/compile.ts';
import { InputError } from '../../src/input/errors.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';

const root = join(import.meta.dirname, '../..');
const site = (): ReturnType<typeof loadPlaybook> => loadPlaybook(join(root, 'playbooks/site.yaml'));
const inventory = (): ReturnType<typeof loadInventory> => loadInventory(join(root, 'inventory/example-bgp'));

/** The problems compile finds in site.yaml on example-bgp with this -e mapping (and --limit). */
async function refusal(extra: Record<string, unknown>, limit?: string): Promise<string> {
  try {
    await compile(site(), inventory(), {
      limit,
      extraVars: [extraVarsLayer(JSON.stringify(extra), 0, root)],
      selection: { tags: [], skipTags: [], roles: [] },
    });
    return '';
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
}

const peer = {
  name: 'edge-router',
  myASN: 65010,
  peerASN: 65000,
  peerAddress: '192.0.2.1',
  password: 'supersecret-md5',
};

/** Each case: what the user gave (-e), and what the refusal must say, at -e #1 with its key path. */
const CASES: [string, Record<string, unknown>, RegExp][] = [
  ['a port given as a name', { ansible_port: 'ssh' }, /ansible_port: expected integer \(hosts? /],
  ['a negative port', { ansible_port: -1 }, /ansible_port: expected a number >= 1/],
  ['a zero connect timeout (waited forever)', { ansible_timeout: 0 }, /ansible_timeout: expected a number > 0/],
  [
    'an empty host address (reached the controller itself)',
    { ansible_host: '' },
    /ansible_host: expected a host name or an IPv4\/IPv6 address/,
  ],
  [
    'a newline in the router ID (added a neighbor to frr.conf)',
    { frr_router_id: '192.0.2.1\n neighbor 6.6.6.6 remote-as 666' },
    /frr_router_id: expected an IPv4 address/,
  ],
  [
    'an upstream address with a config line in it',
    { frr_upstreams: [{ address: '203.0.113.1\nneighbor 6.6.6.6 remote-as 1', asn: 64500 }] },
    /frr_upstreams\[0\]\.address: expected an IPv4 or IPv6 address/,
  ],
  [
    'a BGP password with a line break',
    { metallb_bgp_peers: [{ ...peer, password: 'abcdefgh\nneighbor x' }] },
    /metallb_bgp_peers\[0\]\.password: expected a password of 8 to 80 printable ASCII characters, no spaces/,
  ],
  [
    'a BGP password of 4 characters',
    { metallb_bgp_peers: [{ ...peer, password: 'abcd' }] },
    /metallb_bgp_peers\[0\]\.password: expected a password of 8 to 80/,
  ],
  [
    'a service port that opens all TCP',
    { firewall_service_ports: [{ port: '80 accept; meta l4proto tcp accept' }] },
    /firewall_service_ports\[0\]\.port: expected a port or a range like 30000-30100/,
  ],
  [
    'a service port range past 65535',
    { firewall_service_ports: [{ port: '60000-70000' }] },
    /firewall_service_ports\[0\]\.port: 60000-70000 is not a port range within 1-65535, low to high/,
  ],
  [
    'a firewall source with a rule in it',
    { firewall_ssh_sources: ['0.0.0.0/0 tcp dport 1-65535 accept'] },
    /firewall_ssh_sources\[0\]: expected an address or a CIDR/,
  ],
  [
    'a sysctl key that sysctl(8) would take as an option',
    { sysctl_extra: { '-p/etc/shadow': 1 } },
    /sysctl_extra\.-p\/etc\/shadow: invalid name: expected a string matching/,
  ],
  [
    'a pool address with a leading zero',
    { metallb_pools: [{ name: 'p', addresses: ['198.051.100.0/24'] }] },
    /metallb_pools\[0\]\.addresses\[0\]: expected a CIDR or a FIRST-LAST address range/,
  ],
  ['a secret of 4 characters', { k3s_token: 'abcd' }, /k3s_token: expected a string of at least (8|16) character/],
  [
    'a secret given as a number (its digits are lost)',
    // eslint-disable-next-line no-loss-of-precision -- the lost digits are what this case is about
    { k3s_token: 12345678901234567890123 },
    /k3s_token: a secret must be a quoted string: as a number it loses digits/,
  ],
  [
    'an interface name with a space',
    { metallb_l2_advertisements: [{ name: 'l2', interfaces: ['eth0 x'] }] },
    /metallb_l2_advertisements\[0\]\.interfaces\[0\]: expected a network interface name/,
  ],
];

describe("bad input is refused before any host is contacted, at the user's line and key", () => {
  it.each(CASES)('%s', async (_what, extra, message) => {
    const text = await refusal(extra);
    expect(text).toMatch(new RegExp(`-e #1:\\d+:\\d+: ${message.source}`));
    // The refusal never echoes the value (a password, a token).
    for (const v of Object.values(extra).flatMap((x) => JSON.stringify(x).match(/[A-Za-z0-9]{6,}/g) ?? []))
      if (/secret|abcdefgh/.test(v)) expect(text).not.toContain(v);
  });

  it('an empty --limit selects nothing and says so (it ran on every host)', async () => {
    expect(await refusal({}, '')).toMatch(/^--limit: empty host pattern ""$/);
    expect(connectionPlan(site(), inventory(), { limit: '', extraVars: [] }).size).toBe(0);
  });

  it('a host whose connection settings are bad gets no early connection', () => {
    const plan = connectionPlan(site(), inventory(), {
      extraVars: [extraVarsLayer('{"ansible_port": "ssh"}', 0, root)],
    });
    expect(plan.size).toBe(0);
    expect(
      connectionPlan(site(), inventory(), { extraVars: [extraVarsLayer('{"ansible_port": "2222"}', 0, root)] }).get(
        'cp1',
      )?.ansible_port,
    ).toBe(2222);
  });
});

describe('files copied from the controller are what they claim to be, checked before anything is copied', () => {
  const dir = mkdtempSync(join(tmpdir(), 'play-manifest-'));
  const write = (name: string, content: string | Buffer): string => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  it.each([
    ['a binary', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]), /is not a MetalLB release manifest: it is not text/],
    [
      'a YAML file of something else',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n',
      /is not a MetalLB release manifest: it defines no metallb\.io CustomResourceDefinition/,
    ],
    [
      'a text of something else',
      'a: [\n',
      /is not a MetalLB release manifest: a document in it is not a Kubernetes object/,
    ],
  ])('metallb_manifest_file: %s is refused', async (_what, content, message) => {
    const text = await refusal({
      metallb_manifest_file: write(`m-${Math.random()}`, content),
      metallb_install_method: 'manifest',
    });
    expect(text).toMatch(new RegExp(`-e #1:\\d+:\\d+: metallb_manifest_file: .*${message.source}`));
  });

  // MetalLB v0.16.1's own release manifests (config/manifests in its source).
  const release = (flavor: string): string => join(root, `test/fixtures/metallb/metallb-${flavor}.yaml`);

  it("MetalLB's frr-k8s release manifest passes with the article's BFD and keepaliveTime", async () => {
    expect(await refusal({ metallb_manifest_file: release('frr-k8s'), metallb_install_method: 'manifest' })).toBe('');
  });

  it("MetalLB's native manifest runs the native speaker: the FRR-only settings are refused, naming the file (its webhook would refuse them once applied)", async () => {
    const text = await refusal({ metallb_manifest_file: release('native'), metallb_install_method: 'manifest' });
    expect(text).toMatch(
      /metallb_bgp_peers\[0\]\.keepaliveTime: keepaliveTime needs an FRR-based speaker, but metallb_manifest_file \S+metallb-native\.yaml installs the native speaker/,
    );
    expect(text).toMatch(/metallb_bfd_profiles: BFD needs an FRR-based speaker, but metallb_manifest_file/);
    const asked = await refusal({
      metallb_manifest_file: release('native'),
      metallb_install_method: 'manifest',
      metallb_speaker_mode: 'frr-k8s',
      metallb_bgp_peers: [peer],
      metallb_bfd_profiles: [],
    });
    expect(asked).toMatch(
      /metallb_speaker_mode: is frr-k8s, but metallb_manifest_file \S+metallb-native\.yaml installs the native speaker/,
    );
  });

  it('a release manifest of another MetalLB version than metallb_version is refused', async () => {
    expect(
      await refusal({
        metallb_manifest_file: release('frr-k8s'),
        metallb_install_method: 'manifest',
        metallb_version: 'v0.15.2',
      }),
    ).toMatch(
      /metallb_manifest_file: \S+metallb-frr-k8s\.yaml installs MetalLB v0\.16\.1, but metallb_version is v0\.15\.2/,
    );
  });

  it.each([
    [
      'a shell script',
      '#!/bin/sh\necho k3s\n',
      /k3s_airgap_binary: \S+ is not a K3s binary: it is not an ELF executable/,
    ],
    [
      'a tarball',
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
      /is not a K3s binary: it is not an ELF executable/,
    ],
    [
      'an ELF shared object of no known machine',
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x99, 0x99]),
      /is not a K3s binary: it is an executable for ELF machine 39321/,
    ],
  ])('k3s_airgap_binary: %s is refused before anything is copied', async (_what, content, message) => {
    expect(await refusal({ k3s_airgap_binary: write(`k3s-${Math.random()}`, content) })).toMatch(message);
  });

  it("k3s_airgap_binary: an x86_64 or arm64 ELF executable passes (its host's architecture is checked on the host)", async () => {
    const header = (machine: number): Buffer =>
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, machine, 0, 1, 0, 0, 0]);
    expect(await refusal({ k3s_airgap_binary: write('k3s-amd64', header(0x3e)) })).toBe('');
    expect(await refusal({ k3s_airgap_binary: write('k3s-arm64', header(0xb7)) })).toBe('');
  });
});

describe('every problem in one run', () => {
  it("a schema error and a role's own check of the same variables are reported together", async () => {
    const text = await refusal({
      metallb_bgp_peers: [{ ...peer, keepAliveTime: '60s', bfdProfile: 'fast-bfd' }],
      metallb_bfd_profiles: [{ name: 'fast-bfd', receiveInterval: 50, echoInterval: 50 }],
    });
    expect(text).toMatch(
      /metallb_bgp_peers\[0\]\.keepAliveTime: unknown key "keepAliveTime" \(did you mean "keepaliveTime"\?\)/,
    );
    expect(text).toMatch(/metallb_bfd_profiles\[0\]\.echoInterval: echoInterval has no effect without echoMode: true/);
  });
});
