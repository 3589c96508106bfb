import { keyPath } from 'vds-play/role';
import { durationMs } from '../_shared/duration.ts';
import { contains, formatAddress, overlaps, parseAddress, parseRange, type IpRange } from '../_shared/ip.ts';
import type { MetallbVars } from '../_shared/metallb.ts';
import { BFD_INTERVALS } from './render.ts';

export interface Finding {
  path: (string | number)[];
  message: string;
  level: 'error' | 'warning';
}

/** Addresses pools must stay clear of: the nodes and the edge router(s). */
export interface Neighbours {
  nodes: { name: string; address: string }[];
  routers: { name: string; address: string }[];
}

/**
 * Where no Service address can be: announced upstream, a pool there leaks a route for someone
 * else's addresses (or the whole internet: `0.0.0.0/1`, `::/0`), and the edge's blackhole for it
 * swallows that traffic.
 */
const RESERVED = (
  [
    ['0.0.0.0/8', '"this network"'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local'],
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved, with the broadcast address 255.255.255.255'],
    ['::/127', 'the unspecified and loopback addresses'],
    ['fe80::/10', 'link-local'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([cidr, what]) => ({ range: parseRange(cidr) as IpRange, what }));

/** The most addresses a pool may hold: a /16 of IPv4, a /48 of IPv6 (a provider's whole site prefix). */
const MAX_POOL = { 4: 1n << 16n, 6: 1n << 80n } as const;

const error = (path: Finding['path'], message: string): Finding => ({ path, message, level: 'error' });
const warning = (path: Finding['path'], message: string): Finding => ({ path, message, level: 'warning' });

/** What the schema cannot say about MetalLB variables: the mistakes that break real clusters. */
export function validateMetallb(v: MetallbVars, around: Neighbours): Finding[] {
  return [
    ...poolFindings(v, around),
    ...(v.metallb_mode === 'bgp' ? bgpFindings(v) : l2Findings(v, around)),
    ...advertisedPools(v),
    ...duplicateNames(v),
  ];
}

function poolFindings(v: MetallbVars, around: Neighbours): Finding[] {
  const out: Finding[] = [];
  const seen: { range: IpRange; path: Finding['path'] }[] = [];
  v.metallb_pools.forEach((pool, i) =>
    pool.addresses.forEach((text, j) => {
      const path = ['metallb_pools', i, 'addresses', j];
      const range = parseRange(text.replace(/\s+/g, ''));
      // Never the text itself: a value that is not an address may be a secret pasted in the wrong place.
      if (!range) return out.push(error(path, 'expected a CIDR or a FIRST-LAST range'));
      const reserved = RESERVED.find((r) => overlaps(r.range, range));
      if (reserved)
        out.push(
          error(path, `${text} overlaps ${reserved.range.text}, ${reserved.what}: no Service address can be there`),
        );
      const size = range.end - range.start + 1n;
      if (size > MAX_POOL[range.family])
        out.push(
          error(
            path,
            `${text} holds ${size > 1n << 40n ? 'more than 2^40' : String(size)} addresses; a pool is at most a /${range.family === 4 ? 16 : 48}: the edge would announce and blackhole all of it`,
          ),
        );
      const base = text.includes('/') ? parseAddress(text.split('/')[0] ?? '') : undefined;
      // MetalLB refuses such a CIDR; the user meant either the network or one address.
      if (base && base.value !== range.start)
        out.push(
          error(
            path,
            `${text} has host bits set: the network is ${formatAddress(range.family, range.start)}/${text.split('/')[1]}`,
          ),
        );
      const clash = seen.find((s) => overlaps(s.range, range));
      if (clash) out.push(error(path, `${text} overlaps ${clash.range.text} (${keyPath(clash.path)})`));
      seen.push({ range, path });
      for (const n of around.nodes) {
        const a = parseAddress(n.address);
        if (a && contains(range, a))
          out.push(error(path, `${text} contains the address of node ${n.name} (${n.address})`));
      }
      for (const r of around.routers) {
        const a = parseAddress(r.address);
        if (a && contains(range, a))
          out.push(error(path, `${text} contains the address of the edge router ${r.name} (${r.address})`));
      }
      return undefined;
    }),
  );
  return out;
}

function l2Findings(v: MetallbVars, around: Neighbours): Finding[] {
  const out: Finding[] =
    v.metallb_bgp_peers.length > 0 ? [warning(['metallb_bgp_peers'], 'BGP peers are ignored in layer2 mode')] : [];
  const first = around.nodes[0];
  const network = v.metallb_node_network
    ? parseRange(v.metallb_node_network)
    : first
      ? parseRange(`${first.address}/24`)
      : undefined;
  if (v.metallb_node_network && !network) out.push(error(['metallb_node_network'], 'expected a CIDR'));
  if (!network) return out;
  const assumed = v.metallb_node_network ? '' : ' (assumed /24 around the first node; set metallb_node_network)';
  v.metallb_pools.forEach((pool, i) =>
    pool.addresses.forEach((text, j) => {
      const range = parseRange(text.replace(/\s+/g, ''));
      if (range && range.family === network.family && !(network.start <= range.start && range.end <= network.end)) {
        out.push(
          warning(
            ['metallb_pools', i, 'addresses', j],
            `${text} is outside the nodes' subnet ${network.text}${assumed}: in layer2 mode the provider must route it to the nodes' link, or ARP for it goes unanswered`,
          ),
        );
      }
    }),
  );
  return out;
}

function bgpFindings(v: MetallbVars): Finding[] {
  const out: Finding[] = [];
  if (v.metallb_bgp_peers.length === 0) out.push(error(['metallb_bgp_peers'], 'bgp mode needs at least one peer'));
  const profiles = new Map(v.metallb_bfd_profiles.map((b) => [b.name, b]));
  v.metallb_bgp_peers.forEach((p, i) => {
    const at = (k: string): Finding['path'] => ['metallb_bgp_peers', i, k];
    const hold = p.holdTime === undefined ? undefined : durationMs(p.holdTime);
    const keepalive = p.keepaliveTime === undefined ? undefined : durationMs(p.keepaliveTime);
    if (hold !== undefined && hold !== 0 && hold < 3000)
      out.push(
        error(at('holdTime'), `holdTime ${p.holdTime} is below 3s: BGP allows 0 (no keepalives) or at least 3 seconds`),
      );
    // FRR (and BGP's OPEN message, 16 bits) take at most 65535 seconds.
    if (hold !== undefined && hold > 65535_000)
      out.push(error(at('holdTime'), `holdTime ${p.holdTime} is above 65535s, the most BGP can carry`));
    if (keepalive !== undefined && keepalive > 65535_000)
      out.push(error(at('keepaliveTime'), `keepaliveTime ${p.keepaliveTime} is above 65535s, the most FRR takes`));
    if (hold !== undefined && keepalive !== undefined && keepalive > hold)
      out.push(
        error(
          at('keepaliveTime'),
          `keepaliveTime ${p.keepaliveTime} is above holdTime ${p.holdTime}: the session would expire between keepalives`,
        ),
      );
    if (!parseAddress(p.peerAddress)) out.push(error(at('peerAddress'), 'expected an IP address'));
    if (p.bfdProfile !== undefined) {
      const profile = profiles.get(p.bfdProfile);
      if (!profile)
        out.push(
          error(
            at('bfdProfile'),
            `no BFD profile "${p.bfdProfile}" in metallb_bfd_profiles; profiles: ${[...profiles.keys()].join(', ') || '(none)'}`,
          ),
        );
      else if (profile.minimumTtl !== undefined && !p.ebgpMultiHop) {
        const j = v.metallb_bfd_profiles.indexOf(profile);
        out.push(
          error(
            ['metallb_bfd_profiles', j, 'minimumTtl'],
            `minimumTtl applies to multihop sessions only, but peer ${p.name} uses this profile without ebgpMultiHop`,
          ),
        );
      }
    }
  });
  v.metallb_bfd_profiles.forEach((b, i) => {
    for (const k of BFD_INTERVALS) {
      if (b[k] === undefined) continue;
      const ms = durationMs(b[k]);
      if (ms === undefined || !Number.isInteger(ms))
        out.push(error(['metallb_bfd_profiles', i, k], `expected a whole number of milliseconds (e.g. 50 or "50ms")`));
      else if (ms < 10 || ms > 60000)
        out.push(error(['metallb_bfd_profiles', i, k], `${k} ${b[k]} is outside 10..60000 ms`));
    }
    if (b.echoInterval !== undefined && !b.echoMode)
      out.push(error(['metallb_bfd_profiles', i, 'echoInterval'], 'echoInterval has no effect without echoMode: true'));
  });
  const peerNames = v.metallb_bgp_peers.map((p) => p.name);
  v.metallb_bgp_advertisements.forEach((a, i) =>
    out.push(...unknownRefs(['metallb_bgp_advertisements', i, 'peers'], a.peers, peerNames, 'peer')),
  );
  return out;
}

/** The active mode's advertisements name only pools that exist. */
function advertisedPools(v: MetallbVars): Finding[] {
  const list = v.metallb_mode === 'bgp' ? 'metallb_bgp_advertisements' : 'metallb_l2_advertisements';
  const pools = v.metallb_pools.map((p) => p.name);
  return v[list].flatMap((a, i) => unknownRefs([list, i, 'pools'], a.pools, pools, 'pool'));
}

function unknownRefs(path: Finding['path'], refs: string[] | undefined, known: string[], what: string): Finding[] {
  return (refs ?? []).flatMap((r, k) =>
    known.includes(r) ? [] : [error([...path, k], `no ${what} "${r}"; ${what}s: ${known.join(', ') || '(none)'}`)],
  );
}

function duplicateNames(v: MetallbVars): Finding[] {
  const lists = [
    'metallb_pools',
    'metallb_l2_advertisements',
    'metallb_bgp_peers',
    'metallb_bfd_profiles',
    'metallb_bgp_advertisements',
  ] as const;
  return lists.flatMap((list) => {
    const names = (v[list] as { name: string }[]).map((x) => x.name);
    return names.flatMap((n, i) =>
      names.indexOf(n) !== i ? [error([list, i, 'name'], `name "${n}" is used twice in ${list}`)] : [],
    );
  });
}
