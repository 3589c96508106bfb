import type { KubeObject } from 'vds-play/role';
import { durationMs } from '../_shared/duration.ts';
import { OWNER_LABELS, type BfdProfile, type MetallbVars } from '../_shared/metallb.ts';

/** The Secret MetalLB reads a peer's password from (never a plain `password` in the BGPPeer). */
const passwordSecretName = (peer: string): string => `${peer}-bgp-password`;

const BFD_INTERVALS = ['receiveInterval', 'transmitInterval', 'echoInterval'] as const;

/** Drops undefined fields, so rendered objects say only what the variables say. */
function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  ) as Partial<T>;
}

/** The MetalLB objects the variables describe, as objects (not text), in apply order. */
export function renderMetallb(v: MetallbVars): KubeObject[] {
  const meta = (name: string) => ({ name, namespace: v.metallb_namespace, labels: { ...OWNER_LABELS } });
  const pools: KubeObject[] = v.metallb_pools.map((p) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: meta(p.name),
    spec: defined({ addresses: p.addresses, autoAssign: p.autoAssign, avoidBuggyIPs: p.avoidBuggyIPs }),
  }));
  const allPools = v.metallb_pools.map((p) => p.name);
  if (v.metallb_mode === 'layer2') {
    const ads =
      v.metallb_l2_advertisements.length > 0 ? v.metallb_l2_advertisements : [{ name: 'all-pools', pools: allPools }];
    return [
      ...pools,
      ...ads.map((a) => ({
        apiVersion: 'metallb.io/v1beta1',
        kind: 'L2Advertisement',
        metadata: meta(a.name),
        spec: defined({
          ipAddressPools: a.pools?.length ? a.pools : allPools,
          interfaces: a.interfaces,
          nodeSelectors: a.nodeSelectors,
        }),
      })),
    ];
  }
  const secrets: KubeObject[] = v.metallb_bgp_peers
    .filter((p) => p.password !== undefined)
    .map((p) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(passwordSecretName(p.name)),
      type: 'kubernetes.io/basic-auth',
      data: { password: Buffer.from(p.password ?? '').toString('base64') },
    }));
  const bfd: KubeObject[] = v.metallb_bfd_profiles.map((b) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'BFDProfile',
    metadata: meta(b.name),
    spec: defined(bfdSpec(b)),
  }));
  const peers: KubeObject[] = v.metallb_bgp_peers.map((p) => ({
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: meta(p.name),
    spec: defined({
      myASN: p.myASN,
      peerASN: p.peerASN,
      peerAddress: p.peerAddress,
      peerPort: p.peerPort,
      sourceAddress: p.sourceAddress,
      holdTime: p.holdTime,
      keepaliveTime: p.keepaliveTime,
      connectTime: p.connectTime,
      ebgpMultiHop: p.ebgpMultiHop,
      passwordSecret:
        p.password === undefined ? undefined : { name: passwordSecretName(p.name), namespace: v.metallb_namespace },
      bfdProfile: p.bfdProfile,
      routerID: p.routerID,
      nodeSelectors: p.nodeSelectors,
      enableGracefulRestart: p.enableGracefulRestart,
    }),
  }));
  const ads =
    v.metallb_bgp_advertisements.length > 0 ? v.metallb_bgp_advertisements : [{ name: 'all-pools', pools: allPools }];
  const adverts: KubeObject[] = ads.map((a) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'BGPAdvertisement',
    metadata: meta(a.name),
    spec: defined({
      ipAddressPools: a.pools?.length ? a.pools : allPools,
      aggregationLength: a.aggregationLength,
      aggregationLengthV6: a.aggregationLengthV6,
      localPref: a.localPref,
      communities: a.communities,
      peers: a.peers,
      nodeSelectors: a.nodeSelectors,
    }),
  }));
  return [...pools, ...secrets, ...bfd, ...peers, ...adverts];
}

/** BFD intervals may be written `50ms`; the CRD wants integer milliseconds. */
function bfdSpec(b: BfdProfile): Record<string, unknown> {
  const intervals = Object.fromEntries(
    BFD_INTERVALS.map((k) => [k, b[k] === undefined ? undefined : durationMs(b[k])]),
  );
  return {
    ...intervals,
    echoMode: b.echoMode,
    passiveMode: b.passiveMode,
    minimumTtl: b.minimumTtl,
    detectMultiplier: b.detectMultiplier,
  };
}

export { BFD_INTERVALS };
