import { readFile, rm, mkdir, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sh, shMaybe } from './run.ts';
import { bootHost } from './host.ts';
import { cgroupPids, hostCgroups } from './cgroups.ts';
import { hostNamespace, hostPaths, type LabNames } from './paths.ts';
import { defaultRoute, restoreNetSysctls } from './network.ts';
import { findProcesses, readCmdline, signal, waitForExit } from './processes.ts';
import { waitForHosts } from './readiness.ts';
import { readState, writeState, type HostState } from './state.ts';

/** What makes a host itself; kept across a reset so SSH keys and names stay valid. */
const IDENTITY = [
  'etc/hostname',
  'etc/hosts',
  'root/.ssh/authorized_keys',
  'etc/ssh/ssh_host_ed25519_key',
  'etc/ssh/ssh_host_ed25519_key.pub',
];

/**
 * Gives hosts a fresh writable layer, as if just rented: stops each, empties its layer (keeping
 * its identity: hostname, SSH host key, authorized key), boots it again and waits until ready.
 */
export async function resetHosts(names: LabNames, hostNames: string[], log: (msg: string) => void): Promise<void> {
  const state = readState(names);
  if (!state) throw new Error(`lab ${names.lab} is not up`);
  const hosts = hostNames.map((n) => {
    const h = state.hosts.find((x) => x.name === n);
    if (!h) throw new Error(`no host ${n} in lab ${names.lab}; hosts: ${state.hosts.map((x) => x.name).join(', ')}`);
    return h;
  });
  await Promise.all(
    hosts.map((h) => resetOne(names, h, state.controller.address, state.image, state.components, state.frrImage)),
  );
  await writeState(names, state);
  log(`reset ${hostNames.join(', ')}; waiting for them to boot`);
  await waitForHosts(names, hosts, 60_000, log);
}

async function resetOne(
  names: LabNames,
  host: HostState,
  gateway: string,
  image: Parameters<typeof bootHost>[1],
  components: Parameters<typeof bootHost>[2],
  frrImage: Parameters<typeof bootHost>[3],
): Promise<void> {
  const p = hostPaths(names, host.name);
  const ns = hostNamespace(names, host.name);
  const nspawns = findProcesses(['systemd-nspawn']).filter((pid) => readCmdline(pid).includes(`--machine=${ns}`));
  signal(nspawns, 'SIGTERM');
  signal(await waitForExit(nspawns, 15_000), 'SIGKILL');
  for (const cgroup of hostCgroups(names, host.name)) if (existsSync(cgroup)) signal(cgroupPids(cgroup), 'SIGKILL');
  await clearNamespace(ns);
  await defaultRoute(ns, gateway);
  await restoreNetSysctls(names, host.name);
  const identity = await Promise.all(IDENTITY.map(async (f) => [f, await readFile(join(p.upper, f))] as const));
  if ((await shMaybe`umount ${p.root}`).exitCode !== 0) await sh`umount -l ${p.root}`;
  await rm(p.upper, { recursive: true, force: true });
  await rm(p.work, { recursive: true, force: true });
  await Promise.all([p.upper, p.work].map((d) => mkdir(d, { recursive: true })));
  await sh`mount -t overlay overlay -o ${`lowerdir=${image.rootfs},upperdir=${p.upper},workdir=${p.work}`} ${p.root}`;
  for (const [file, content] of identity) {
    await writeFile(join(p.root, file), content);
    if (file.includes('key') && !file.endsWith('.pub')) await chmod(join(p.root, file), 0o600);
  }
  await chmod(join(p.root, 'root/.ssh/authorized_keys'), 0o600);
  host.pid = await bootHost(names, image, components, frrImage, host);
}

/**
 * The host's network namespace outlives the host, and with it what the host set up there, not on
 * its disk: nftables tables (a firewall an earlier test loaded would still drop packets), links
 * (K3s's pod bridge cni0 with an earlier cluster's pod CIDR, pods' veths) and routes (to other
 * nodes' pod CIDRs of an earlier cluster, BGP routes). A fresh host starts with its eth0 and
 * loopback only (and its default route, put back after): a stale route to this node's own new pod CIDR via another node sent every reply
 * to its pods away, so MetalLB's controller never reached the API server.
 */
async function clearNamespace(ns: string): Promise<void> {
  await sh`ip netns exec ${ns} nft flush ruleset`;
  const links = JSON.parse((await sh`ip -j -n ${ns} link show`).stdout) as { ifname: string }[];
  for (const { ifname } of links)
    if (ifname !== 'lo' && ifname !== 'eth0') await shMaybe`ip -n ${ns} link del ${ifname}`;
  for (const family of ['-4', '-6']) {
    const routes = JSON.parse((await sh`ip -j ${family} -n ${ns} route show`).stdout) as {
      dst: string;
      protocol?: string;
    }[];
    // The kernel's own routes (eth0's subnet) stay; whatever a host added goes.
    for (const r of routes) if (r.protocol !== 'kernel') await shMaybe`ip ${family} -n ${ns} route del ${r.dst}`;
  }
}
