import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/engine/compile.ts';
import { extraVarsLayer } from '../../src/cli/extra-vars.ts';
import { checkSchema } from '../../src/input/schema-check.ts';
import { InputError } from '../../src/input/errors.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { renderMetallb } from '../../roles/l2-or-bgp/render.ts';
import { METALLB_SCHEMAS } from '../../roles/l2-or-bgp/metallb-schema.ts';
import { formatAddress, parseAddress, parseRange, rangeToCidrs } from '../../roles/_shared/ip.ts';
import type { MetallbVars } from '../../roles/_shared/metallb.ts';

const root = join(import.meta.dirname, '../..');
const SHARED = join(root, '../shared/reference/metallb-v0.16.1-crds');
const VENDORED = join(root, 'test/lab/metallb/crds');
/** The upstream CRDs: shared/reference where the clone sits beside it, else the vendored copy of it. */
const REFERENCE = existsSync(SHARED) ? SHARED : VENDORED;

const bgp: MetallbVars = {
  metallb_mode: 'bgp',
  metallb_namespace: 'metallb-system',
  metallb_pools: [
    {
      name: 'public-pool',
      addresses: ['198.51.100.128/27', '2001:db8:1::/120'],
      autoAssign: true,
      avoidBuggyIPs: true,
    },
  ],
  metallb_l2_advertisements: [],
  metallb_bgp_peers: [
    {
      name: 'edge-router',
      myASN: 65010,
      peerASN: 65000,
      peerAddress: '192.0.2.1',
      peerPort: 179,
      holdTime: '180s',
      keepaliveTime: '60s',
      connectTime: '10s',
      ebgpMultiHop: true,
      password: 'supersecret-md5',
      bfdProfile: 'fast-bfd',
      sourceAddress: '192.0.2.11',
      routerID: '192.0.2.11',
      nodeSelectors: [{ matchLabels: { 'kubernetes.io/os': 'linux' } }],
      enableGracefulRestart: true,
    },
  ],
  metallb_bfd_profiles: [
    {
      name: 'fast-bfd',
      receiveInterval: '50ms',
      transmitInterval: 50,
      echoInterval: '50ms',
      echoMode: true,
      passiveMode: false,
      minimumTtl: 254,
      detectMultiplier: 3,
    },
  ],
  metallb_bgp_advertisements: [
    {
      name: 'public-adv',
      pools: ['public-pool'],
      aggregationLength: 32,
      aggregationLengthV6: 128,
      localPref: 100,
      communities: ['65000:100'],
      peers: ['edge-router'],
      nodeSelectors: [{ matchLabels: { a: 'b' } }],
    },
  ],
  metallb_node_network: null,
};
const l2: MetallbVars = {
  ...bgp,
  metallb_mode: 'layer2',
  metallb_bgp_peers: [],
  metallb_bfd_profiles: [],
  metallb_bgp_advertisements: [],
  metallb_l2_advertisements: [
    { name: 'public-l2', pools: ['public-pool'], interfaces: ['eth0'], nodeSelectors: [{ matchLabels: { a: 'b' } }] },
  ],
};

describe('MetalLB objects rendered from variables', () => {
  it('bgp: pool, password Secret, BFD profile (integer ms), BGPPeer v1beta2 with passwordSecret, advertisement', () => {
    const objects = renderMetallb(bgp);
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual([
      'metallb.io/v1beta1 IPAddressPool',
      'v1 Secret',
      'metallb.io/v1beta1 BFDProfile',
      'metallb.io/v1beta2 BGPPeer',
      'metallb.io/v1beta1 BGPAdvertisement',
    ]);
    const [, secret, bfd, peer] = objects;
    expect(secret).toMatchObject({
      type: 'kubernetes.io/basic-auth',
      data: { password: Buffer.from('supersecret-md5').toString('base64') },
    });
    expect(bfd?.spec).toMatchObject({ receiveInterval: 50, transmitInterval: 50, echoInterval: 50 });
    expect(peer?.spec).toMatchObject({
      passwordSecret: { name: 'edge-router-bgp-password', namespace: 'metallb-system' },
    });
    expect(JSON.stringify(peer)).not.toContain('supersecret');
  });

  it('layer2: pools and L2Advertisements; a default advertisement covers every pool', () => {
    expect(renderMetallb(l2).map((o) => o.kind)).toEqual(['IPAddressPool', 'L2Advertisement']);
    const defaulted = renderMetallb({ ...l2, metallb_l2_advertisements: [] });
    expect(defaulted[1]?.spec).toEqual({ ipAddressPools: ['public-pool'] });
  });

  it("every rendered object passes the project's own schema", () => {
    for (const o of [...renderMetallb(bgp), ...renderMetallb(l2)]) {
      expect(
        checkSchema(METALLB_SCHEMAS[o.kind] ?? {}, o, () => ({ file: o.kind })),
        o.kind,
      ).toEqual([]);
    }
  });

  it("the vendored CRDs are upstream v0.16.1's, byte for byte (checksums recorded from shared/reference)", () => {
    const sums = readFileSync(join(VENDORED, '../crds.sha256'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    const dirs = existsSync(SHARED) ? [VENDORED, SHARED] : [VENDORED];
    for (const dir of dirs) {
      expect(
        readdirSync(dir)
          .filter((f) => f.endsWith('.yaml'))
          .sort(),
      ).toEqual(sums.map(([, f]) => f).sort());
      for (const [sum, f] of sums)
        expect(
          createHash('sha256')
            .update(readFileSync(join(dir, f ?? '')))
            .digest('hex'),
          `${dir}/${f}`,
        ).toBe(sum);
    }
  });

  it('conforms to the upstream MetalLB v0.16.1 CRDs: a served version, and the CRD schema accepts it', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const crds = ['ipaddresspools', 'bgppeers', 'bfdprofiles', 'bgpadvertisements', 'l2advertisements'].map(
      (c) =>
        parse(readFileSync(join(REFERENCE, `metallb.io_${c}.yaml`), 'utf8')) as {
          spec: {
            names: { kind: string };
            versions: { name: string; served: boolean; schema: { openAPIV3Schema: Record<string, unknown> } }[];
          };
        },
    );
    for (const o of [...renderMetallb(bgp), ...renderMetallb(l2)].filter((x) => x.kind !== 'Secret')) {
      const crd = crds.find((c) => c.spec.names.kind === o.kind);
      const version = crd?.spec.versions.find((v) => `metallb.io/${v.name}` === o.apiVersion);
      expect(version?.served, `${o.kind} ${o.apiVersion} is served`).toBe(true);
      const validate = ajv.compile(version?.schema.openAPIV3Schema ?? {});
      expect(validate({ apiVersion: o.apiVersion, kind: o.kind, spec: o.spec }), JSON.stringify(validate.errors)).toBe(
        true,
      );
    }
    // The article's BFDProfile version does not exist upstream.
    expect(crds.find((c) => c.spec.names.kind === 'BFDProfile')?.spec.versions.map((v) => v.name)).toEqual(['v1beta1']);
  });
});

describe('IP ranges', () => {
  it('turns FIRST-LAST pools into the fewest CIDRs (for prefix lists)', () => {
    const r = parseRange('203.0.113.64-203.0.113.79');
    expect(r && rangeToCidrs(r)).toEqual(['203.0.113.64/28']);
    const odd = parseRange('10.0.0.1-10.0.0.6');
    expect(odd && rangeToCidrs(odd)).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    expect(parseRange('2001:db8::/126')?.end).toBe(parseRange('2001:db8::3')?.start);
  });

  it('writes IPv6 compressed (RFC 5952), as FRR prints it in its prefix lists', () => {
    const r = parseRange('2001:db8:0:0:0:0:0:10-2001:db8::13');
    expect(r && rangeToCidrs(r)).toEqual(['2001:db8::10/126']);
    expect(r && formatAddress(6, r.end)).toBe('2001:db8::13');
    expect(formatAddress(6, parseAddress('2001:0db8:0000:0001:0000:0000:0000:0001')?.value ?? 0n)).toBe(
      '2001:db8:0:1::1',
    );
  });

  it('takes only the dotted four-part form of IPv4, whatever shorthand a library would accept', () => {
    expect(['10.1', '010.0.0.1x', '1.2.3.256', '10.0.0.1/33', 'fe80::1%eth0'].map((t) => parseRange(t))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(parseAddress('10.0.0.1')?.value).toBe(0x0a000001n);
  });
});

/** Compiles site.yaml on the example BGP inventory with the given -e mapping; returns the problems text. */
async function problems(
  extra: Record<string, unknown>,
  inventory = 'example-bgp',
): Promise<{ errors: string; warnings: string[] }> {
  try {
    const run = await compile(
      loadPlaybook(join(root, 'playbooks/site.yaml')),
      loadInventory(join(root, 'inventory', inventory)),
      {
        extraVars: [extraVarsLayer(JSON.stringify(extra), 0, root)],
        selection: { tags: [], skipTags: [], roles: [] },
      },
    );
    return { errors: '', warnings: run.warnings };
  } catch (e) {
    if (e instanceof InputError) return { errors: e.message, warnings: [] };
    throw e;
  }
}

const peer = { name: 'edge-router', myASN: 65010, peerASN: 65000, peerAddress: '192.0.2.1' };

describe("l2-or-bgp refuses the article's mistakes, naming the variable, before any host is contacted", () => {
  it('the example inventories are valid as shipped', async () => {
    expect((await problems({})).errors).toBe('');
    expect((await problems({}, 'example-l2')).errors).toBe('');
  });

  it('keepAliveTime: did you mean keepaliveTime?', async () => {
    const { errors } = await problems({ metallb_bgp_peers: [{ ...peer, holdTime: '180s', keepAliveTime: '60s' }] });
    expect(errors).toMatch(
      /-e #1:1:\d+: metallb_bgp_peers\[0\]\.keepAliveTime: unknown key "keepAliveTime" \(did you mean "keepaliveTime"\?\)/,
    );
  });

  it('BFD intervals outside 10..60000 ms; "50ms" is fine', async () => {
    const { errors } = await problems({
      metallb_bfd_profiles: [
        { name: 'fast-bfd', receiveInterval: '5ms', transmitInterval: 70000, echoInterval: '50ms', echoMode: true },
      ],
    });
    expect(errors).toMatch(/metallb_bfd_profiles\[0\]\.receiveInterval: receiveInterval 5ms is outside 10\.\.60000 ms/);
    expect(errors).toMatch(
      /metallb_bfd_profiles\[0\]\.transmitInterval: transmitInterval 70000 is outside 10\.\.60000 ms/,
    );
    expect(errors).not.toMatch(/echoInterval/);
  });

  it('holdTime not 0 and below 3s; keepaliveTime above holdTime', async () => {
    const { errors } = await problems({
      metallb_bgp_peers: [
        { ...peer, name: 'a', holdTime: '2s' },
        { ...peer, name: 'b', holdTime: '90s', keepaliveTime: '2m' },
      ],
    });
    expect(errors).toMatch(/metallb_bgp_peers\[0\]\.holdTime: holdTime 2s is below 3s/);
    expect(errors).toMatch(/metallb_bgp_peers\[1\]\.keepaliveTime: keepaliveTime 2m is above holdTime 90s/);
    expect((await problems({ metallb_bgp_peers: [{ ...peer, holdTime: '0s' }] })).errors).toBe('');
  });

  it('minimumTtl without multihop; echoInterval without echoMode', async () => {
    const { errors } = await problems({
      metallb_bgp_peers: [{ ...peer, bfdProfile: 'fast-bfd' }],
      metallb_bfd_profiles: [{ name: 'fast-bfd', receiveInterval: 50, minimumTtl: 254, echoInterval: 50 }],
    });
    expect(errors).toMatch(
      /metallb_bfd_profiles\[0\]\.minimumTtl: minimumTtl applies to multihop sessions only, but peer edge-router uses this profile without ebgpMultiHop/,
    );
    expect(errors).toMatch(
      /metallb_bfd_profiles\[0\]\.echoInterval: echoInterval has no effect without echoMode: true/,
    );
  });

  it('pools overlapping each other, a node or the edge router', async () => {
    const { errors } = await problems({
      metallb_pools: [
        { name: 'a', addresses: ['198.51.100.0/24'] },
        { name: 'b', addresses: ['198.51.100.128/25', '192.0.2.10-192.0.2.11', '192.0.2.0/31'] },
      ],
    });
    expect(errors).toMatch(
      /metallb_pools\[1\]\.addresses\[0\]: 198\.51\.100\.128\/25 overlaps 198\.51\.100\.0\/24 \(metallb_pools\[0\]\.addresses\[0\]\)/,
    );
    expect(errors).toMatch(
      /metallb_pools\[1\]\.addresses\[1\]: 192\.0\.2\.10-192\.0\.2\.11 contains the address of node cp1 \(192\.0\.2\.11\)/,
    );
    expect(errors).toMatch(
      /metallb_pools\[1\]\.addresses\[2\]: 192\.0\.2\.0\/31 contains the address of the edge router edge \(192\.0\.2\.1\)/,
    );
  });

  it("a pool outside the nodes' subnet in layer2 mode is a warning; the example's own pool is inside it", async () => {
    const example = await problems({}, 'example-l2');
    expect(example.errors).toBe('');
    expect(example.warnings.filter((w) => w.includes('metallb_pools'))).toEqual([]);
    const routed = { metallb_pools: [{ name: 'public-pool', addresses: ['203.0.113.64-203.0.113.79'] }] };
    const { errors, warnings } = await problems(routed, 'example-l2');
    expect(errors).toBe('');
    expect(warnings.join('\n')).toMatch(
      /metallb_pools\[0\]\.addresses\[0\]: 203\.0\.113\.64-203\.0\.113\.79 is outside the nodes' subnet 192\.0\.2\.0\/24/,
    );
  });

  it('advertisements naming a pool or a peer that does not exist, in either mode', async () => {
    const bgp = await problems({ metallb_bgp_advertisements: [{ name: 'adv', pools: ['nope'], peers: ['ghost'] }] });
    expect(bgp.errors).toMatch(/metallb_bgp_advertisements\[0\]\.pools\[0\]: no pool "nope"; pools: \S+/);
    expect(bgp.errors).toMatch(/metallb_bgp_advertisements\[0\]\.peers\[0\]: no peer "ghost"; peers: edge-router/);
    const l2 = await problems({ metallb_l2_advertisements: [{ name: 'adv', pools: ['nope'] }] }, 'example-l2');
    expect(l2.errors).toMatch(/metallb_l2_advertisements\[0\]\.pools\[0\]: no pool "nope"/);
  });

  it('FRR-only features with the native speaker', async () => {
    const { errors } = await problems({ metallb_speaker_mode: 'native' });
    expect(errors).toMatch(
      /metallb_bgp_peers\[0\]\.keepaliveTime: keepaliveTime needs an FRR-based speaker, but metallb_speaker_mode is native/,
    );
    expect(errors).toMatch(/metallb_bgp_peers\[0\]\.bfdProfile: bfdProfile needs an FRR-based speaker/);
  });
});
