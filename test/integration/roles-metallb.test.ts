import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeLab, freshHosts, lab, onHostOk } from './lab-fixture.ts';
import { projectRoot } from '../lab/paths.ts';
import { layerSnapshot, snapshotDiff } from './layer-snapshot.ts';
import { changedTasks, exampleInventory, exampleVars, failures, play } from './play-runner.ts';

const kubectl = async (args: string) =>
  JSON.parse(await onHostOk('cp1', `k3s kubectl ${args} -o json`)) as {
    items: { metadata: { name: string }; spec?: Record<string, unknown>; type?: string }[];
  };
const names = async (kinds: string) =>
  (await kubectl(`-n metallb-system get ${kinds}`)).items.map((i) => i.metadata.name).sort();

describeLab('roles metallb-install and l2-or-bgp on the lab', () => {
  let bgp = '';
  beforeAll(async () => {
    await freshHosts('cp1', 'w1', 'w2');
    bgp = exampleInventory('example-bgp');
  });

  it('installs MetalLB and applies the BGP configuration; a second run changes nothing', async () => {
    const first = await play(['site.yaml', '-i', bgp, '-D']);
    expect(first.code, failures(first)).toBe(0);
    expect(changedTasks(first.report)).toEqual(
      expect.arrayContaining([
        'cp1 metallb-install MetalLB v0.16.1 release manifest (metallb-native.yaml, from the controller)',
        'cp1 l2-or-bgp MetalLB bgp configuration',
      ]),
    );
    const peers = await kubectl('-n metallb-system get bgppeers');
    // The real API server adds the CRD's defaults (disableMP, ...): what play declared is all there.
    expect(peers.items.map((p) => p.spec)).toMatchObject([
      {
        myASN: 65010,
        peerASN: 65000,
        peerAddress: '192.0.2.1',
        holdTime: '180s',
        passwordSecret: { name: 'edge-router-bgp-password', namespace: 'metallb-system' },
      },
    ]);
    const secret = (await kubectl('-n metallb-system get secrets')).items.find(
      (s) => s.metadata.name === 'edge-router-bgp-password',
    );
    expect(secret?.type).toBe('kubernetes.io/basic-auth');
    const everything = first.stdout + JSON.stringify(first.report);
    expect(everything).not.toContain('supersecret-md5');
    expect(everything).not.toContain(Buffer.from('supersecret-md5').toString('base64'));

    const again = await play(['site.yaml', '-i', bgp]);
    expect(again.code, failures(again)).toBe(0);
    expect(changedTasks(again.report)).toEqual([]);
  });

  it('prunes what it created that the variables no longer name', async () => {
    const renamed = exampleInventory('example-bgp', {
      metallb_pools: [
        { name: 'web', addresses: ['198.51.100.128/28'] },
        { name: 'games', addresses: ['198.51.100.144/28'] },
      ],
      metallb_bgp_peers: [
        { name: 'edge-router', myASN: 65010, peerASN: 65000, peerAddress: '192.0.2.1', holdTime: '90s' },
      ],
      metallb_bfd_profiles: [],
      metallb_bgp_advertisements: [],
    });
    const r = await play(['site.yaml', '-i', renamed, '--role', 'l2-or-bgp']);
    expect(r.code, failures(r)).toBe(0);
    expect(await names('ipaddresspools')).toEqual(['games', 'web']);
    expect(await names('bfdprofiles')).toEqual([]);
    expect(await names('bgpadvertisements')).toEqual(['all-pools']);
    expect((await kubectl('-n metallb-system get secrets')).items.map((s) => s.metadata.name)).not.toContain(
      'edge-router-bgp-password',
    );
  });

  it('layer2 mode: pools and L2Advertisement, the BGP objects gone', async () => {
    const l2 = exampleInventory('example-l2');
    const r = await play(['site.yaml', '-i', l2, '--role', 'l2-or-bgp']);
    expect(r.code, failures(r)).toBe(0);
    // The example's pool sits on the nodes' segment: nothing to warn about.
    expect(r.stdout).not.toMatch(/WARNING: .*metallb_pools/);
    expect(await names('ipaddresspools')).toEqual(['public-pool']);
    expect((await kubectl('-n metallb-system get l2advertisements')).items.map((a) => a.spec)).toEqual([
      { ipAddressPools: ['public-pool'] },
    ]);
    expect(await names('bgppeers,bgpadvertisements')).toEqual([]);
  });

  it('every l2-or-bgp error stops the run before any host is touched, naming the variable', async () => {
    const peer = { name: 'edge-router', myASN: 65010, peerASN: 65000, peerAddress: '192.0.2.1' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { metallb_bgp_peers: [{ ...peer, keepAliveTime: '60s' }] },
        /metallb_bgp_peers\[0\]\.keepAliveTime: unknown key "keepAliveTime" \(did you mean "keepaliveTime"\?\)/,
      ],
      [
        { metallb_bfd_profiles: [{ name: 'fast-bfd', receiveInterval: '5ms' }] },
        /metallb_bfd_profiles\[0\]\.receiveInterval: receiveInterval 5ms is outside 10\.\.60000 ms/,
      ],
      [
        { metallb_bgp_peers: [{ ...peer, holdTime: '1s' }] },
        /metallb_bgp_peers\[0\]\.holdTime: holdTime 1s is below 3s/,
      ],
      [
        { metallb_bgp_peers: [{ ...peer, holdTime: '90s', keepaliveTime: '100s' }] },
        /metallb_bgp_peers\[0\]\.keepaliveTime: keepaliveTime 100s is above holdTime 90s/,
      ],
      [
        { metallb_bfd_profiles: [{ name: 'fast-bfd', minimumTtl: 254 }] },
        /metallb_bfd_profiles\[0\]\.minimumTtl: minimumTtl applies to multihop sessions only/,
      ],
      [
        { metallb_bfd_profiles: [{ name: 'fast-bfd', echoInterval: 50 }] },
        /metallb_bfd_profiles\[0\]\.echoInterval: echoInterval has no effect without echoMode: true/,
      ],
      [
        {
          metallb_pools: [
            { name: 'a', addresses: ['198.51.100.128/27'] },
            { name: 'b', addresses: ['198.51.100.140-198.51.100.150'] },
          ],
        },
        /metallb_pools\[1\]\.addresses\[0\]: 198\.51\.100\.140-198\.51\.100\.150 overlaps 198\.51\.100\.128\/27/,
      ],
      [
        { metallb_pools: [{ name: 'a', addresses: ['192.0.2.12/32'] }] },
        /contains the address of node w1 \(192\.0\.2\.12\)/,
      ],
      [
        { metallb_pools: [{ name: 'a', addresses: ['192.0.2.0/30'] }] },
        /contains the address of the edge router edge \(192\.0\.2\.1\)/,
      ],
    ];
    const before = layerSnapshot(lab().host('cp1').layer);
    // MetalLB's FRR-based manifest (a fixture): with the lab's native one, every BFD case would
    // first be refused for needing an FRR speaker.
    const example = exampleVars('example-bgp');
    const base = exampleInventory('example-bgp', {
      metallb_manifest_file: join(projectRoot, 'test/fixtures/metallb/metallb-frr-k8s.yaml'),
      metallb_bgp_peers: example.metallb_bgp_peers,
      metallb_bfd_profiles: example.metallb_bfd_profiles,
    });
    for (const [vars, message] of cases) {
      const file = join(base, 'bad.json');
      writeFileSync(file, JSON.stringify(vars));
      const r = await play(['site.yaml', '-i', base, '-e', `@${file}`]);
      expect(r.code, failures(r)).toBe(6);
      expect(r.stderr).toMatch(/nothing was run on any host/);
      expect(r.stderr).toMatch(message);
    }
    // The lab installs metallb-native.yaml, whose webhook would refuse the peer only once applied.
    const native = exampleInventory('example-bgp', { metallb_bgp_peers: [{ ...peer, keepaliveTime: '60s' }] });
    const r = await play(['site.yaml', '-i', native]);
    expect(r.code, failures(r)).toBe(6);
    expect(r.stderr).toMatch(
      /metallb_bgp_peers\[0\]\.keepaliveTime: keepaliveTime needs an FRR-based speaker, but metallb_manifest_file \S+metallb-native\.yaml installs the native speaker/,
    );
    expect(snapshotDiff(before, layerSnapshot(lab().host('cp1').layer))).toEqual([]);
  });
});
