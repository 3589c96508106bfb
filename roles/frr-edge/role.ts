import {
  apt,
  command,
  defineRole,
  flushHandlers,
  lines,
  service,
  sysctl,
  template,
  type RoleContext,
} from 'vds-play/role';
import { durationMs } from '../_shared/duration.ts';
import { ipv4Cidrs } from '../_shared/ip.ts';
import type { BfdProfile, Pool } from '../_shared/metallb.ts';
import type { Vars } from './variables.gen.ts';
import { debianHost } from '../_shared/host-requirements.ts';

type Ctx = RoleContext<Vars>;

/** The pools as prefixes; from the nodes, anything inside them (down to /32) is accepted. */
function poolPrefixes(pools: Pool[]): { seq: number; cidr: string; le?: number }[] {
  const cidrs = ipv4Cidrs(pools.flatMap((p) => p.addresses));
  return cidrs.map((cidr, i) => {
    const len = Number(cidr.split('/')[1]);
    return { seq: (i + 1) * 5, cidr, le: len < 32 ? 32 : undefined };
  });
}

/** FRR's BFD profile lines for MetalLB's profile (the same intervals, so both ends agree). */
function bfdLines(b: BfdProfile): string[] {
  const ms = (v: number | string | undefined) => (v === undefined ? undefined : durationMs(v));
  const entries: [string, number | boolean | undefined][] = [
    ['detect-multiplier', b.detectMultiplier],
    ['receive-interval', ms(b.receiveInterval)],
    ['transmit-interval', ms(b.transmitInterval)],
    ['echo-mode', b.echoMode],
    ['echo-interval', ms(b.echoInterval)],
    ['minimum-ttl', b.minimumTtl],
    ['passive-mode', b.passiveMode],
  ];
  return entries.filter(([, v]) => v !== undefined && v !== false).map(([k, v]) => (v === true ? k : `${k} ${v}`));
}

/** What frr.conf says, from the MetalLB peer that names this edge: ASNs, password, multihop, timers, BFD. */
function edgeConfig(ctx: Ctx) {
  const { vars } = ctx;
  const me = ctx.host.address;
  const index = vars.metallb_bgp_peers.findIndex((p) => p.peerAddress === me);
  const peer = vars.metallb_bgp_peers[index];
  if (!peer) {
    ctx.reject(
      ['metallb_bgp_peers'],
      `no MetalLB BGP peer has peerAddress ${me} (edge ${ctx.host.name}): the edge would have no sessions`,
    );
    return undefined;
  }
  const profile = peer.bfdProfile ? vars.metallb_bfd_profiles.find((b) => b.name === peer.bfdProfile) : undefined;
  const hold = peer.holdTime === undefined ? undefined : durationMs(peer.holdTime);
  const keepalive = peer.keepaliveTime === undefined ? undefined : durationMs(peer.keepaliveTime);
  return {
    asn: peer.peerASN,
    clusterAsn: peer.myASN,
    routerId: vars.frr_router_id ?? me,
    password: peer.password ?? null,
    multihop: peer.ebgpMultiHop === true,
    timers: hold !== undefined ? `${Math.round((keepalive ?? hold / 3) / 1000)} ${Math.round(hold / 1000)}` : null,
    connectTimer:
      peer.connectTime === undefined ? null : Math.max(1, Math.round((durationMs(peer.connectTime) ?? 0) / 1000)),
    bfd: profile ? { name: profile.name, lines: bfdLines(profile) } : null,
    nodes: ctx.groupHosts('k3s_cluster').map((h) => ({ name: h, address: ctx.hostAddress(h) })),
    upstreams: vars.frr_upstreams,
    prefixes: poolPrefixes(vars.metallb_pools ?? []),
    maximumPaths: vars.frr_maximum_paths,
  };
}

/**
 * The edge routes what it learns: traffic for the pools arrives from the provider and leaves for
 * the nodes, so it must forward (Debian's default is not to). Each new connection is spread over
 * the nodes by its ports too (the kernel's default hashes addresses only, so one client would
 * always reach the same node). IPv6 only where the pools have IPv6 addresses: with forwarding on,
 * the kernel ignores router advertisements on interfaces left at accept_ra=1.
 */
function forwarding(vars: Ctx['vars']): Record<string, number> {
  const v6 =
    vars.frr_ipv6_forwarding === 'auto'
      ? (vars.metallb_pools ?? []).some((p) => p.addresses.some((a) => a.includes(':')))
      : vars.frr_ipv6_forwarding;
  return {
    'net.ipv4.ip_forward': 1,
    'net.ipv4.fib_multipath_hash_policy': 1,
    ...(v6 ? { 'net.ipv6.conf.all.forwarding': 1, 'net.ipv6.fib_multipath_hash_policy': 1 } : {}),
  };
}

/** One line per neighbor from `show bgp summary json`: how the sessions stand after the run. */
function neighborReport(json: string): string {
  try {
    const peers =
      (JSON.parse(json) as { ipv4Unicast?: { peers?: Record<string, { state?: string; pfxRcd?: number }> } })
        .ipv4Unicast?.peers ?? {};
    const list = Object.entries(peers).map(
      ([addr, p]) => `${addr} ${p.state ?? 'unknown'}${p.pfxRcd !== undefined ? ` (${p.pfxRcd} prefixes)` : ''}`,
    );
    return list.length ? `neighbors: ${list.join(', ')}` : 'no BGP neighbors';
  } catch {
    return 'bgpd did not answer';
  }
}

export default defineRole<Vars>({
  requires: debianHost('apt-get', 'dpkg-query'),
  tasks: (ctx) => {
    if (ctx.vars.metallb_mode !== 'bgp') return [];
    const config = edgeConfig(ctx);
    if (!config) return [];
    return [
      // Debian's frr package enables and starts frr.service as it installs.
      apt('FRR installed', { packages: ['frr', 'frr-pythontools'], startsUnits: ['frr'] }),
      lines('bgpd and bfdd enabled', {
        path: '/etc/frr/daemons',
        lines: [
          { match: '^bgpd=', line: 'bgpd=yes' },
          { match: '^bfdd=', line: 'bfdd=yes' },
        ],
        notify: 'restart FRR',
      }),
      // 0640 frr:frr: the BGP password is readable by FRR and root only.
      template('frr.conf', {
        src: 'frr.conf.hbs',
        dest: '/etc/frr/frr.conf',
        mode: '0640',
        owner: 'frr',
        group: 'frr',
        data: config,
        validate: 'vtysh --dryrun -f %s',
        notify: 'reload FRR',
      }),
      service('FRR running', { unit: 'frr', enabled: true, state: 'started' }),
      sysctl('the edge forwards, spreading connections over the nodes', {
        file: '/etc/sysctl.d/99-play-frr-edge.conf',
        values: forwarding(ctx.vars),
      }),
      flushHandlers(),
      // A report, not a check: in check mode on a fresh edge there is no FRR to ask yet.
      // A read-only reading leaves no trace: vtysh would otherwise append to root's ~/.history_frr.
      command('BGP neighbors', {
        run: `VTYSH_HISTFILE=/dev/null vtysh -c 'show bgp summary json' 2>/dev/null || echo 'not running'`,
        readOnly: true,
        report: neighborReport,
      }),
    ];
  },
  handlers: () => [
    service('restart FRR', { unit: 'frr', state: 'restarted' }),
    // frr-reload.py applies the difference: sessions that did not change stay up.
    service('reload FRR', { unit: 'frr', state: 'reloaded', supersededBy: 'restart FRR' }),
  ],
});
