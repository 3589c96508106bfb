import { defineRole, sysctl } from 'vds-play/role';
import type { Vars } from './variables.gen.ts';
import { debianHost } from '../_shared/host-requirements.ts';

/**
 * Routing on, and ARP answered only for addresses on the asking interface (arp_ignore=1) from
 * the best local source (arp_announce=2): with kube-proxy in IPVS mode every node holds every
 * Service IP on kube-ipvs0, and without these a node answers ARP for IPs MetalLB gave another.
 */
const BASE_SYSCTLS = {
  'net.ipv4.ip_forward': 1,
  'net.ipv4.conf.all.arp_ignore': 1,
  'net.ipv4.conf.all.arp_announce': 2,
};

const hasIpv6Pool = (pools: Vars['metallb_pools'] = []): boolean =>
  pools.some((p) => (p.addresses ?? []).some((a) => a.includes(':')));

export default defineRole<Vars>({
  requires: debianHost('sysctl'),
  tasks: ({ vars }) => {
    const ipv6 = vars.sysctl_ipv6_forwarding === 'auto' ? hasIpv6Pool(vars.metallb_pools) : vars.sysctl_ipv6_forwarding;
    const values = { ...BASE_SYSCTLS, ...(ipv6 ? { 'net.ipv6.conf.all.forwarding': 1 } : {}), ...vars.sysctl_extra };
    return [sysctl('kernel parameters for K3s and MetalLB', { file: vars.sysctl_file, values })];
  },
});
