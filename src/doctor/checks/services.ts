import { contains, parseAddress, parseRange, type IpRange } from '../../../roles/_shared/ip.ts';
import type { ClusterFacts, KubePool, KubeService } from '../facts.ts';
import { CLUSTER, fail, ok, warn, type Finding } from '../findings.ts';
import type { Intended } from '../intended.ts';
import {
  loadBalancers,
  metallbAnnotation,
  podReady,
  readyEndpointNodes,
  requestedPool,
  serviceIps,
  serviceName,
} from './kube.ts';

/** A pool's address ranges (MetalLB allows spaces around a range's dash). */
const poolRanges = (p: KubePool): IpRange[] => p.spec.addresses.flatMap((a) => parseRange(a.replace(/\s+/g, '')) ?? []);

const poolSize = (p: KubePool): bigint => poolRanges(p).reduce((n, r) => n + r.end - r.start + 1n, 0n);

const poolFamilies = (p: KubePool): Set<4 | 6> => new Set(poolRanges(p).map((r) => r.family));

/** The families a Service needs from one pool: both with RequireDualStack, else its first. */
function familiesWanted(s: KubeService): (4 | 6)[] {
  const families = (s.spec.ipFamilies ?? ['IPv4']).map((f) => (f === 'IPv6' ? 6 : 4));
  return s.spec.ipFamilyPolicy === 'RequireDualStack' ? [4, 6] : families.slice(0, 1);
}

/** The addresses a Service asks for: MetalLB's annotation, else the deprecated spec.loadBalancerIP. */
const requestedIps = (s: KubeService): string[] => {
  const annotated = metallbAnnotation(s, 'loadBalancerIPs');
  if (annotated)
    return annotated
      .split(',')
      .map((ip) => ip.trim())
      .filter(Boolean);
  return s.spec.loadBalancerIP ? [s.spec.loadBalancerIP] : [];
};

const inPool = (p: KubePool, ip: string): boolean => {
  const a = parseAddress(ip);
  return a !== undefined && poolRanges(p).some((r) => contains(r, a));
};

/** Every LoadBalancer Service has an address (else why), is announced from somewhere, and follows the article's advice. */
export function serviceChecks(intended: Intended, c: ClusterFacts): Finding[] {
  const out: Finding[] = [];
  const used = loadBalancers(c).flatMap(serviceIps);
  const advertisements = intended.mode === 'bgp' ? c.bgpAdvertisements : c.l2Advertisements;
  const advertised = (p: KubePool): boolean =>
    advertisements.some(
      (a) =>
        (a.spec?.ipAddressPools ?? []).includes(p.metadata.name) ||
        (!a.spec?.ipAddressPools?.length && !a.spec?.ipAddressPoolSelectors?.length),
    );
  for (const pool of c.pools) {
    const taken = used.filter((ip) => inPool(pool, ip)).length;
    const size = poolSize(pool);
    const evidence = [`${pool.metadata.name}: ${pool.spec.addresses.join(', ')}; ${taken} of ${size} addresses in use`];
    if (!advertised(pool))
      out.push(
        warn(
          'service',
          CLUSTER,
          `pool ${pool.metadata.name} advertised`,
          evidence,
          `no ${intended.mode === 'bgp' ? 'BGPAdvertisement' : 'L2Advertisement'} selects pool ${pool.metadata.name}: its addresses are assigned but never announced`,
          `add it to ${intended.mode === 'bgp' ? 'metallb_bgp_advertisements' : 'metallb_l2_advertisements'} (or leave that list empty), then: play site.yaml -i INVENTORY --role l2-or-bgp`,
        ),
      );
    else out.push(ok('service', CLUSTER, `pool ${pool.metadata.name} advertised`, evidence));
  }
  for (const s of loadBalancers(c)) out.push(...serviceFindings(intended, c, s));
  return out;
}

function serviceFindings(intended: Intended, c: ClusterFacts, s: KubeService): Finding[] {
  const name = serviceName(s);
  const ips = serviceIps(s);
  const events = c.events
    .filter(
      (e) =>
        e.involvedObject.kind === 'Service' &&
        e.involvedObject.name === s.metadata.name &&
        e.involvedObject.namespace === s.metadata.namespace &&
        e.type === 'Warning',
    )
    .slice(-3)
    .map((e) => `event ${e.reason ?? ''}: ${e.message ?? ''}`);
  const out: Finding[] = [];
  if (ips.length === 0) out.push(noAddress(intended, c, s, events));
  else out.push(ok('service', CLUSTER, `${name} has an address`, [ips.join(', ')]));
  if (ips.length > 0 && s.spec.externalTrafficPolicy === 'Local' && readyEndpointNodes(c, s).length === 0) {
    out.push(
      warn(
        'service',
        CLUSTER,
        `${name} has ready endpoints`,
        [`externalTrafficPolicy: Local; no ready endpoint on any node`],
        `with externalTrafficPolicy: Local only nodes holding a ready endpoint announce ${ips.join(', ')}: none does, so nobody ${intended.mode === 'bgp' ? 'announces it' : 'answers ARP for it'}`,
        `k3s kubectl -n ${s.metadata.namespace ?? 'default'} get endpointslices -l kubernetes.io/service-name=${s.metadata.name}; make the pods ready`,
      ),
    );
  }
  const selector = s.spec.selector;
  if (selector && Object.keys(selector).length > 0) {
    const pods = c.pods.filter(
      (p) =>
        p.metadata.namespace === s.metadata.namespace &&
        Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
    );
    const noProbe = pods.filter((p) => p.spec.containers.some((ct) => ct.readinessProbe === undefined));
    if (noProbe.length > 0)
      out.push(
        warn(
          'service',
          CLUSTER,
          `${name} pods have a readinessProbe`,
          noProbe.slice(0, 3).map((p) => `${p.metadata.name}: a container without readinessProbe`),
          "without a readinessProbe a pod counts as ready before it serves: its node announces the address too early, and traffic fails during rollouts (the article's flapping)",
          "add a readinessProbe to the workload's containers",
        ),
      );
    const covered = c.pdbs.some(
      (d) =>
        d.metadata.namespace === s.metadata.namespace &&
        Object.entries(d.spec?.selector?.matchLabels ?? {}).every(([k, v]) => selector[k] === v) &&
        Object.keys(d.spec?.selector?.matchLabels ?? {}).length > 0,
    );
    if (pods.length > 0 && !covered)
      out.push(
        warn(
          'service',
          CLUSTER,
          `${name} has a PodDisruptionBudget`,
          [
            `no PodDisruptionBudget selects ${Object.entries(selector)
              .map(([k, v]) => `${k}=${v}`)
              .join(',')}`,
          ],
          'a drain can take every pod at once: the address is withdrawn from every node (the article: readiness and PDB against flapping)',
          'add a PodDisruptionBudget (minAvailable: 1) for the workload',
        ),
      );
    // The article's advice against flapping: one pod, or pods all on one node, and a restart or a
    // node's loss withdraws the address from everywhere at once.
    const spread = new Set(pods.map((p) => p.spec.nodeName).filter(Boolean));
    if (pods.length > 0 && spread.size < 2)
      out.push(
        warn(
          'service',
          CLUSTER,
          `${name} pods on more than one node`,
          [`${pods.length} pod${pods.length > 1 ? 's' : ''} on ${[...spread].join(', ') || '(no node)'}`],
          pods.length === 1
            ? `a single replica: when it restarts or its node is drained or lost, no node has a ready endpoint and ${intended.mode === 'bgp' ? 'the address is withdrawn everywhere' : 'nobody answers ARP for the address'}`
            : `every replica is on one node: when that node is drained or lost, the address goes with it`,
          'run at least 2 replicas, on different nodes (podAntiAffinity or topologySpreadConstraints on kubernetes.io/hostname)',
        ),
      );
    if (pods.length > 0 && !pods.some(podReady))
      out.push(
        warn(
          'service',
          CLUSTER,
          `${name} pods ready`,
          [`${pods.length} pods, none ready`],
          'no pod of the Service is ready',
          `k3s kubectl -n ${s.metadata.namespace ?? 'default'} describe pods`,
        ),
      );
  }
  return out;
}

const poolText = (p: KubePool): string => `${p.metadata.name}: ${p.spec.addresses.join(', ')}`;

/** Why a LoadBalancer Service has no address, in the order MetalLB would refuse it. */
function noAddress(intended: Intended, c: ClusterFacts, s: KubeService, events: string[]): Finding {
  const name = serviceName(s);
  const check = `${name} has an address`;
  const wanted = requestedPool(s);
  const pools = c.pools.map((p) => p.metadata.name);
  if (wanted !== undefined && !pools.includes(wanted)) {
    return fail(
      'service',
      CLUSTER,
      check,
      [`annotation metallb.io/address-pool: ${wanted}`, `pools: ${pools.join(', ') || '(none)'}`, ...events],
      `the Service asks for pool "${wanted}", which does not exist`,
      `fix the annotation to one of ${pools.join(', ') || '(no pools: run play site.yaml -i INVENTORY --role l2-or-bgp)'}, or add the pool to metallb_pools`,
    );
  }
  const asked = requestedIps(s);
  if (asked.length > 0) {
    // A requested address may come from any pool, autoAssign or not (or the one annotated).
    const candidates = c.pools.filter((p) => wanted === undefined || p.metadata.name === wanted);
    const outside = asked.filter((ip) => !candidates.some((p) => inPool(p, ip)));
    if (outside.length > 0)
      return fail(
        'service',
        CLUSTER,
        check,
        [`asks for ${asked.join(', ')}`, `pools: ${candidates.map(poolText).join('; ') || '(none)'}`, ...events],
        `the Service asks for ${outside.join(', ')}, which is in no ${wanted ? `"${wanted}" ` : ''}pool`,
        'ask for an address inside a pool (metallb.io/loadBalancerIPs), or add it to metallb_pools',
      );
    const holder = loadBalancers(c).find((o) => o !== s && serviceIps(o).some((ip) => asked.includes(ip)));
    if (holder)
      return fail(
        'service',
        CLUSTER,
        check,
        [`asks for ${asked.join(', ')}`, `${serviceName(holder)} holds ${serviceIps(holder).join(', ')}`, ...events],
        `the address it asks for is taken by ${serviceName(holder)} (sharing one needs the same metallb.io/allow-shared-ip key on both, and no port clash)`,
        'ask for another address, or give both Services the same metallb.io/allow-shared-ip annotation',
      );
  }
  const eligible = c.pools.filter((p) =>
    wanted !== undefined ? p.metadata.name === wanted : p.spec.autoAssign !== false,
  );
  const families = familiesWanted(s);
  const familyText = (f: (4 | 6)[]): string => f.map((x) => `IPv${x}`).join(' and ');
  if (eligible.length > 0 && !eligible.some((p) => families.every((f) => poolFamilies(p).has(f))))
    return fail(
      'service',
      CLUSTER,
      check,
      [
        `ipFamilies: ${(s.spec.ipFamilies ?? ['IPv4']).join(', ')}${s.spec.ipFamilyPolicy ? ` (${s.spec.ipFamilyPolicy})` : ''}`,
        ...eligible.map(poolText),
        ...events,
      ],
      `the Service needs ${familyText(families)} from one pool, and no pool it may use has ${families.length > 1 ? 'both' : 'that family'}`,
      `add ${familyText(families)} ranges to a pool in metallb_pools, or change the Service's ipFamilies/ipFamilyPolicy`,
    );
  const used = loadBalancers(c).flatMap(serviceIps);
  const full = eligible.filter((p) => BigInt(used.filter((ip) => inPool(p, ip)).length) >= poolSize(p));
  if (eligible.length > 0 && full.length === eligible.length) {
    return fail(
      'service',
      CLUSTER,
      check,
      [...full.map((p) => `${p.metadata.name}: all ${poolSize(p)} addresses in use`), ...events],
      `pool${full.length > 1 ? 's' : ''} ${full.map((p) => p.metadata.name).join(', ')} exhausted: every address is taken by another Service`,
      'add addresses to metallb_pools (or free some), then: play site.yaml -i INVENTORY --role l2-or-bgp',
    );
  }
  if (eligible.length === 0) {
    return fail(
      'service',
      CLUSTER,
      check,
      [`pools: ${pools.join(', ') || '(none)'}`, ...events],
      'no pool gives addresses to this Service (none exists, or all have autoAssign: false)',
      'add a pool to metallb_pools, or annotate the Service with metallb.io/address-pool',
    );
  }
  const controllerReady = c.pods.some(
    (p) => p.metadata.namespace === intended.namespace && p.metadata.labels?.component === 'controller' && podReady(p),
  );
  return fail(
    'service',
    CLUSTER,
    check,
    events.length ? events : ['no event explains it'],
    controllerReady
      ? 'MetalLB has not assigned an address, for a reason its events give'
      : "MetalLB's controller is not ready, so nothing assigns addresses",
    `k3s kubectl -n ${s.metadata.namespace ?? 'default'} describe service ${s.metadata.name}`,
  );
}
