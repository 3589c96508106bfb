import {
  apt,
  defineRole,
  directory,
  flushHandlers,
  NFT,
  nftApply,
  service,
  template,
  type RoleContext,
} from 'vds-play/role';
import { parseRange } from '../_shared/ip.ts';
import type { Vars } from './variables.gen.ts';
import { debianHost } from '../_shared/host-requirements.ts';

type Ctx = RoleContext<Vars>;
const RULESET = '/etc/play-firewall/ruleset.nft';
const TABLE = 'inet play_firewall';

/** `define NAME = { … }` at the top of the ruleset. */
interface Define {
  name: string;
  elements: string;
}

/**
 * The cluster's nodes, named once at the top of the ruleset (`define nodes_v4 = { … }`) and
 * referred to by the rules (`{ $nodes_v4 }`): every node's ruleset names every node in six rules,
 * which at 5,000 nodes was 330 KB a host. nft expands a define where it is used, so the table
 * loaded is the same. Worked out once per run (groupHosts gives every host the same array).
 */
const nodeLists = new WeakMap<readonly string[], { defines: Define[]; refs: string[] }>();
function nodeSets(ctx: Ctx): { defines: Define[]; refs: string[] } {
  const hosts = ctx.groupHosts('k3s_cluster');
  const known = nodeLists.get(hosts);
  if (known) return known;
  const addresses = hosts.map(ctx.hostAddress);
  const defines = [
    { name: 'nodes_v4', elements: addresses.filter((a) => !a.includes(':')).join(', ') },
    { name: 'nodes_v6', elements: addresses.filter((a) => a.includes(':')).join(', ') },
  ].filter((d) => d.elements !== '');
  const made = { defines, refs: defines.map((d) => `$${d.name}`) };
  nodeLists.set(hosts, made);
  return made;
}

/** An address, a network or a define of IPv6 addresses (`$nodes_v6`). */
const isV6 = (source: string): boolean => source.includes(':') || source.endsWith('_v6');

/** `ip saddr {…}` / `ip6 saddr {…}` rules for a list of sources of both families. */
function from(sources: readonly string[], rest: string, field: 'saddr' | 'daddr' = 'saddr'): string[] {
  const v4 = sources.filter((s) => !isV6(s));
  const v6 = sources.filter(isV6);
  return [
    ...(v4.length ? [`ip ${field} { ${v4.join(', ')} } ${rest}`] : []),
    ...(v6.length ? [`ip6 ${field} { ${v6.join(', ')} } ${rest}`] : []),
  ];
}

/** The accept rules for this host, by what it is: a K3s node (server or agent), the edge router. */
function firewallRules(ctx: Ctx): string[] {
  const { vars } = ctx;
  const nodes = nodeSets(ctx).refs;
  const groups = ctx.host.groups;
  const ssh = from(vars.firewall_ssh_sources, `tcp dport ${vars.firewall_ssh_port} accept comment "ssh"`);
  // Many VDS get their address by DHCP: without this the lease would not renew.
  const dhcp = [
    'udp sport 67 udp dport 68 accept comment "dhcp replies"',
    'udp sport 547 udp dport 546 accept comment "dhcpv6 replies"',
  ];
  const bgpPeers =
    vars.metallb_mode === 'bgp' ? [...new Set((vars.metallb_bgp_peers ?? []).map((p) => p.peerAddress))] : [];
  const node = groups.includes('k3s_cluster')
    ? [
        ...from([...nodes, ...vars.firewall_admin_sources], 'tcp dport 6443 accept comment "kubernetes api"'),
        ...from(nodes, 'tcp dport 10250 accept comment "kubelet"'),
        ...from(
          nodes,
          vars.firewall_flannel_backend === 'vxlan'
            ? 'udp dport 8472 accept comment "flannel vxlan"'
            : 'udp dport 51820-51821 accept comment "flannel wireguard"',
        ),
        ...(groups.includes('k3s_server')
          ? from(
              ctx.groupHosts('k3s_server').map(ctx.hostAddress),
              'tcp dport 2379-2380 accept comment "etcd between servers"',
            )
          : []),
        ...from(nodes, 'tcp dport 7946 accept comment "metallb memberlist"'),
        ...from(nodes, 'udp dport 7946 accept comment "metallb memberlist"'),
        ...from([vars.firewall_pod_cidr, vars.firewall_service_cidr], 'accept comment "pods and services"'),
        // MetalLB's FRR-based speakers take BGP sessions the routers open, and BFD's control
        // packets come from the router's own port, not as replies to the node's: both are new flows.
        ...from(bgpPeers, 'tcp dport 179 accept comment "bgp from the routers"'),
        ...from(bgpPeers, 'udp dport { 3784, 4784 } accept comment "bfd from the routers"'),
        ...servicePorts(vars),
      ]
    : [];
  const edge =
    groups.includes('edge') && vars.metallb_mode === 'bgp'
      ? [
          ...from(nodes, 'tcp dport 179 accept comment "bgp from the nodes"'),
          ...from(nodes, 'udp dport { 3784, 4784 } accept comment "bfd from the nodes"'),
          // The provider's routers may open the session themselves (some only listen for it).
          ...from(
            vars.frr_upstreams.map((u) => u.address),
            'tcp dport 179 accept comment "bgp from the upstream routers"',
          ),
        ]
      : [];
  return [...ssh, ...dhcp, ...node, ...edge];
}

/** LoadBalancer ports, on the pools' addresses only. */
function servicePorts(vars: Vars): string[] {
  const pools = (vars.metallb_pools ?? [])
    .flatMap((p) => p.addresses)
    .map((a) => a.replace(/\s+/g, ''))
    .filter((a) => parseRange(a));
  if (pools.length === 0) return [];
  return vars.firewall_service_ports.flatMap((s) => {
    const proto = s.protocol ?? 'tcp';
    const to = from(pools, `${proto} dport ${s.port} accept comment "loadbalancer service"`, 'daddr');
    return s.sources?.length ? to.flatMap((rule) => from(s.sources ?? [], rule)) : to;
  });
}

/** A port range the schema's pattern lets through but nft would refuse or misread (70000, 200-100). */
function checkPortRanges(ctx: Ctx): void {
  ctx.vars.firewall_service_ports.forEach((s, i) => {
    if (typeof s.port !== 'string') return;
    const [from = 0, to = from] = s.port.split('-').map(Number);
    if (from < 1 || to > 65535 || from > to)
      ctx.reject(['firewall_service_ports', i, 'port'], `${s.port} is not a port range within 1-65535, low to high`);
  });
}

export default defineRole<Vars>({
  requires: debianHost('apt-get', 'dpkg-query'),
  tasks: (ctx) => {
    checkPortRanges(ctx);
    return [
      apt('nftables installed', { packages: ['nftables'] }),
      directory('firewall directory', { path: '/etc/play-firewall', mode: '0700' }),
      template('firewall ruleset', {
        src: 'ruleset.nft.hbs',
        dest: RULESET,
        mode: '0600',
        data: { defines: nodeSets(ctx).defines, rules: firewallRules(ctx) },
        validate: `${NFT} -c -f %s`,
        notify: 'apply firewall',
      }),
      template('firewall at boot', {
        src: 'play-firewall.service.hbs',
        dest: '/etc/systemd/system/play-firewall.service',
        mode: '0644',
      }),
      // Enabled for boot but never started here: starting it would skip the lockout check.
      service('firewall loaded at boot', { unit: 'play-firewall', enabled: true }),
      flushHandlers(),
      nftApply('firewall loaded', {
        ruleset: RULESET,
        table: TABLE,
        rollbackAfterSeconds: ctx.vars.firewall_rollback_seconds,
        load: 'if-missing',
      }),
    ];
  },
  handlers: (ctx) => [
    nftApply('apply firewall', {
      ruleset: RULESET,
      table: TABLE,
      rollbackAfterSeconds: ctx.vars.firewall_rollback_seconds,
      load: 'always',
    }),
  ],
});
