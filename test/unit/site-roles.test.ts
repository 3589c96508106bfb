import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/engine/compile.ts';
import { extraVarsLayer } from '../../src/cli/extra-vars.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import type { Change } from '../../src/resources/types.ts';

const root = join(import.meta.dirname, '../..');

/** The content a file task would write on a fresh host, for the example BGP cluster plus `extra`. */
async function rendered(host: string, task: string, extra: Record<string, unknown>): Promise<string> {
  const run = await compile(
    loadPlaybook(join(root, 'playbooks/site.yaml')),
    loadInventory(join(root, 'inventory/example-bgp')),
    {
      extraVars: [extraVarsLayer(JSON.stringify(extra), 0, root)],
      selection: { tags: [], skipTags: [], roles: [] },
    },
  );
  const planned = run.plays
    .flatMap((p) => p.roles.flatMap((r) => r.tasks.get(host) ?? []))
    .find((t) => t.name.startsWith(task));
  const change = planned?.resource
    ?.plan({ stdout: 'absent', exitCode: 0 })
    .changes.find((c): c is Extract<Change, { type: 'content' }> => c.type === 'content');
  if (!change?.after) throw new Error(`no content for ${host} ${task}`);
  return change.after;
}

describe('frr-edge: frr.conf from the MetalLB peer', () => {
  it('announces the pools upstream, aggregated, and nothing else', async () => {
    const conf = await rendered('edge', 'frr.conf', {
      frr_upstreams: [{ address: '203.0.113.1', asn: 64999, password: 'up-secret' }],
    });
    expect(conf).toContain('ip route 198.51.100.128/27 blackhole');
    expect(conf).toContain(
      ' neighbor 203.0.113.1 remote-as 64999\n neighbor 203.0.113.1 description upstream\n neighbor 203.0.113.1 password up-secret',
    );
    expect(conf).toContain('  network 198.51.100.128/27');
    expect(conf).toContain(
      '  neighbor 203.0.113.1 route-map UPSTREAM-OUT out\n  neighbor 203.0.113.1 route-map NOTHING in',
    );
    expect(conf).toContain('ip prefix-list METALLB-AGGREGATES seq 5 permit 198.51.100.128/27\n');
  });

  it('drops traffic for pool addresses no node announces, with or without upstreams (no loop back to the provider)', async () => {
    const conf = await rendered('edge', 'frr.conf', {});
    expect(conf).toContain('ip route 198.51.100.128/27 blackhole');
    expect(conf).not.toContain('network 198.51.100.128/27');
  });

  it("ebgp-multihop exactly when MetalLB's ebgpMultiHop is set; BFD as MetalLB's profile", async () => {
    const peer = {
      name: 'edge-router',
      myASN: 65010,
      peerASN: 65000,
      peerAddress: '192.0.2.1',
      bfdProfile: 'fast-bfd',
    };
    const profile = [
      { name: 'fast-bfd', receiveInterval: '300ms', transmitInterval: 300, detectMultiplier: 5, minimumTtl: 250 },
    ];
    const multihop = await rendered('edge', 'frr.conf', {
      metallb_bgp_peers: [{ ...peer, ebgpMultiHop: true }],
      metallb_bfd_profiles: profile,
    });
    expect(multihop.match(/ebgp-multihop 255/g)).toHaveLength(3);
    expect(multihop).toMatch(
      / profile fast-bfd\n {2}detect-multiplier 5\n {2}receive-interval 300\n {2}transmit-interval 300\n {2}minimum-ttl 250\n/,
    );
    const direct = await rendered('edge', 'frr.conf', {
      metallb_bfd_profiles: [{ name: 'fast-bfd', receiveInterval: 50 }],
    });
    expect(direct).not.toContain('ebgp-multihop');
  });

  it('a range pool becomes the fewest prefixes, each accepted down to /32', async () => {
    const conf = await rendered('edge', 'frr.conf', {
      metallb_pools: [{ name: 'public-pool', addresses: ['198.51.100.130-198.51.100.133'] }],
    });
    expect(conf).toContain(
      'ip prefix-list METALLB-POOLS seq 5 permit 198.51.100.130/31 le 32\nip prefix-list METALLB-POOLS seq 10 permit 198.51.100.132/31 le 32\n',
    );
  });
});

describe("firewall: LoadBalancer ports on the pools' addresses", () => {
  it("accepts the examples' echo-lb port on the pools' addresses only, where IPVS delivers it to the node", async () => {
    const ruleset = await rendered('w1', 'firewall ruleset', {});
    expect(ruleset).toContain('ip daddr { 198.51.100.128/27 } tcp dport 80 accept comment "loadbalancer service"');
    const restricted = await rendered('w1', 'firewall ruleset', {
      firewall_service_ports: [{ port: '8000-8010', protocol: 'udp', sources: ['203.0.113.0/24'] }],
    });
    expect(restricted).toContain(
      'ip saddr { 203.0.113.0/24 } ip daddr { 198.51.100.128/27 } udp dport 8000-8010 accept comment "loadbalancer service"',
    );
    expect(restricted).not.toContain('dport 80 ');
  });
});

describe('firewall: the nodes named once', () => {
  it('defines the nodes at the top and refers to them in every rule that admits them (5,000 nodes made 330 KB rulesets)', async () => {
    const ruleset = await rendered('w1', 'firewall ruleset', {});
    expect(ruleset.split('192.0.2.12')).toHaveLength(2);
    expect(ruleset).toContain(
      '\ndefine nodes_v4 = { 192.0.2.11, 192.0.2.12, 192.0.2.13 }\n\ntable inet play_firewall {',
    );
    expect(ruleset).not.toContain('nodes_v6');
    for (const rule of ['tcp dport 10250 accept', 'udp dport 8472 accept', 'tcp dport 7946 accept'])
      expect(ruleset).toContain(`ip saddr { $nodes_v4 } ${rule}`);
    const admins = await rendered('cp1', 'firewall ruleset', {
      firewall_admin_sources: ['203.0.113.0/24', '2001:db8::/64'],
    });
    expect(admins).toContain('ip saddr { $nodes_v4, 203.0.113.0/24 } tcp dport 6443 accept');
    expect(admins).toContain('ip6 saddr { 2001:db8::/64 } tcp dport 6443 accept');
    expect(admins).toContain('ip saddr { 192.0.2.11 } tcp dport 2379-2380 accept');
    const edge = await rendered('edge', 'firewall ruleset', {});
    expect(edge).toContain('ip saddr { $nodes_v4 } tcp dport 179 accept comment "bgp from the nodes"');
  });
});

describe('metallb-install: the HelmChart K3s installs', () => {
  it('pins the chart version and turns on the FRR speaker the features need', async () => {
    const chart = await rendered('cp1', 'MetalLB v0.16.1 HelmChart', { metallb_install_method: 'helm' });
    expect(chart).toMatch(/^apiVersion: helm\.cattle\.io\/v1\nkind: HelmChart\n/);
    expect(chart).toContain(
      '  repo: https://metallb.github.io/metallb\n  chart: metallb\n  version: 0.16.1\n  targetNamespace: metallb-system\n  createNamespace: true\n',
    );
    expect(chart).toContain('frrk8s:\n      enabled: true');
    const native = await rendered('cp1', 'MetalLB v0.16.1 HelmChart', {
      metallb_install_method: 'helm',
      metallb_bgp_peers: [{ name: 'edge-router', myASN: 65010, peerASN: 65000, peerAddress: '192.0.2.1' }],
      metallb_bfd_profiles: [],
    });
    expect(native).toContain('frrk8s:\n      enabled: false');
  });
});

describe('k3s-config refuses extra config that would fight its own keys', () => {
  it('names the key and where it was set', async () => {
    let message = '';
    try {
      await rendered('cp1', 'K3s config', { k3s_extra_config: { disable: ['traefik'], 'node-label': ['a=b'] } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/-e #1:1:\d+: k3s_extra_config\.disable: disable is managed by this role/);
    expect(message).not.toMatch(/node-label/);
  });
});

describe('k3s-config: air-gap image archives and the IPVS warning', () => {
  const compiled = (extra: Record<string, unknown>) =>
    compile(loadPlaybook(join(root, 'playbooks/site.yaml')), loadInventory(join(root, 'inventory/example-bgp')), {
      extraVars: [extraVarsLayer(JSON.stringify(extra), 0, root)],
      selection: { tags: [], skipTags: [], roles: [] },
    });

  it("copies each archive into K3s's agent/images on every node, and restarts K3s when one changes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-images-'));
    writeFileSync(join(dir, 'k3s-airgap-images-amd64.tar.zst'), 'k3s images');
    writeFileSync(join(dir, 'metallb-images.tar'), 'metallb images');
    const run = await compiled({
      k3s_airgap_images: [join(dir, 'k3s-airgap-images-amd64.tar.zst'), join(dir, 'metallb-images.tar')],
    });
    for (const host of ['cp1', 'w1']) {
      const tasks = run.plays.flatMap((p) => p.roles.flatMap((r) => r.tasks.get(host) ?? []));
      const archives = tasks.filter((t) => t.name.startsWith('K3s image archive '));
      expect(archives.map((t) => t.resource?.describe)).toEqual([
        'file /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst',
        'file /var/lib/rancher/k3s/agent/images/metallb-images.tar',
      ]);
      expect(archives.every((t) => t.notify.includes('restart K3s'))).toBe(true);
    }
  });

  it('refuses a name K3s would not import, at its place in the list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-images-'));
    writeFileSync(join(dir, 'images.zip'), 'x');
    await expect(compiled({ k3s_airgap_images: [join(dir, 'images.zip')] })).rejects.toThrow(
      /k3s_airgap_images\[0\]: K3s imports \.tar, \.tar\.gz, \.tar\.bz2, \.tar\.lz4 or \.tar\.zst archives; images\.zip is none/,
    );
  });

  it('warns that IPVS is deprecated only where the K3s installed is Kubernetes 1.35 or later', async () => {
    const ipvs = (w: string[]) => w.filter((m) => m.includes('IPVS is deprecated'));
    expect(ipvs((await compiled({})).warnings)).toEqual([]);
    expect(ipvs((await compiled({ k3s_version: 'v1.35.0+k3s1' })).warnings)).toEqual([
      'k3s-config: kube_proxy_mode is ipvs: IPVS is deprecated in Kubernetes 1.35 (k3s_version v1.35.0+k3s1); nftables is its successor',
    ]);
  });
});
