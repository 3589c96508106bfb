import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh, shMaybe } from './run.ts';
import { clientNamespace, hostNamespace, hostPaths, netnsEtcDir, type LabNames } from './paths.ts';
import { INTERNET, type HostSpec, type Topology } from './topology.ts';

const BRIDGE = 'br0';
/** The controller's side of the link to the internet segment. */
export const INTERNET_LINK = 'v-internet';

/**
 * The controller namespace owns the lab bridge; nothing of the lab touches the machine's own
 * network. It is also the provider's router: every host's default gateway, routing the blocks the
 * provider gives a host (the pools' block, to the edge) and the internet segment where the client
 * lives. Like a provider's router, it takes no ICMP redirects.
 */
export async function createController(names: LabNames, topology: Topology): Promise<void> {
  const ns = names.controller;
  await sh`ip netns add ${ns}`;
  await sh`ip -n ${ns} link set lo up`;
  await sh`ip -n ${ns} link add ${BRIDGE} type bridge`;
  await sh`ip -n ${ns} addr add ${topology.controller}/24 dev ${BRIDGE}`;
  await sh`ip -n ${ns} link set ${BRIDGE} up`;
  for (const key of [
    'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.accept_redirects=0',
    'net.ipv4.conf.default.accept_redirects=0',
  ])
    await sh`ip netns exec ${ns} sysctl -q -w ${key}`;
  const client = clientNamespace(names);
  await sh`ip netns add ${client}`;
  await sh`ip -n ${ns} link add ${INTERNET_LINK} type veth peer name eth0 netns ${client}`;
  await sh`ip -n ${ns} addr add ${INTERNET.router}/24 dev ${INTERNET_LINK}`;
  await sh`ip -n ${ns} link set ${INTERNET_LINK} up`;
  await sh`ip -n ${client} link set lo up`;
  await sh`ip -n ${client} addr add ${INTERNET.client}/24 dev eth0`;
  await sh`ip -n ${client} link set eth0 up`;
  await sh`ip -n ${client} route add default via ${INTERNET.router}`;
  for (const route of topology.routes) {
    const via = topology.hosts.find((h) => h.name === route.via);
    if (via) await sh`ip -n ${ns} route add ${route.prefix} via ${via.address}`;
  }
}

/** The veth is born inside the controller namespace, so a crash never strands one on the machine. */
export async function createHostNetwork(names: LabNames, host: HostSpec, gateway: string): Promise<void> {
  const ns = hostNamespace(names, host.name);
  const veth = `v-${host.name}`;
  await sh`ip netns add ${ns}`;
  await sh`ip -n ${names.controller} link add ${veth} type veth peer name eth0 netns ${ns}`;
  await sh`ip -n ${names.controller} link set ${veth} master ${BRIDGE} up`;
  await sh`ip -n ${ns} link set lo up`;
  await sh`ip -n ${ns} addr add ${host.address}/24 dev eth0`;
  await sh`ip -n ${ns} link set eth0 up`;
  await defaultRoute(ns, gateway);
  await saveNetSysctls(names, host.name);
}

/** As on a VDS, the provider's router is the host's default gateway: replies to the internet go there. */
export async function defaultRoute(ns: string, gateway: string): Promise<void> {
  await sh`ip -n ${ns} route replace default via ${gateway}`;
}

/**
 * The kernel's network parameters (net.*) belong to the namespace, which outlives the host: they
 * are saved as a fresh namespace has them, so a reset can put back what a host changed
 * (forwarding turned on by a role, say).
 */
async function saveNetSysctls(names: LabNames, host: string): Promise<void> {
  const out = await sh`ip netns exec ${hostNamespace(names, host)} sysctl -a --pattern ${'^net\\.'}`;
  await mkdir(hostPaths(names, host).home, { recursive: true });
  await writeFile(netSysctlsPath(names, host), out.stdout);
}

/** Writes back every writable net.* parameter that differs from the fresh namespace's. */
export async function restoreNetSysctls(names: LabNames, host: string): Promise<void> {
  const ns = hostNamespace(names, host);
  const parse = (text: string): Map<string, string> =>
    new Map(
      text
        .split('\n')
        .map((l) => l.split(' = '))
        .filter((kv): kv is [string, string] => kv.length === 2)
        .map(([k, v]) => [k, v]),
    );
  const saved = parse(await readFile(netSysctlsPath(names, host), 'utf8'));
  const now = parse((await sh`ip netns exec ${ns} sysctl -a --pattern ${'^net\\.'}`).stdout);
  const changed = [...saved].filter(([k, v]) => now.has(k) && now.get(k) !== v);
  for (const [k, v] of changed) await shMaybe`ip netns exec ${ns} sysctl -q -w ${`${k}=${v}`}`;
}

const netSysctlsPath = (names: LabNames, host: string): string => join(hostPaths(names, host).home, 'net-sysctl.fresh');

/** Name resolution and ssh defaults that `ip netns exec` bind-mounts over /etc for the controller only. */
export async function writeControllerEtc(names: LabNames, topology: Topology, sshConfig: string): Promise<void> {
  const dir = netnsEtcDir(names);
  await mkdir(join(dir, 'ssh'), { recursive: true });
  await writeFile(join(dir, 'hosts'), hostsFile(topology));
  await writeFile(join(dir, 'ssh', 'ssh_config'), sshConfig);
}

export function hostsFile(topology: Topology): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${topology.controller}\tcontroller`,
    `${INTERNET.client}\tclient`,
  ];
  for (const host of topology.hosts) lines.push(`${host.address}\t${host.name}`);
  return `${lines.join('\n')}\n`;
}

/** Every namespace of this lab, found by name, so teardown works without state. */
export async function labNamespaces(names: LabNames): Promise<string[]> {
  const out = await sh`ip netns list`;
  return out.stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns === names.controller || ns.startsWith(names.hostPrefix));
}

export async function namespacePids(ns: string): Promise<number[]> {
  const out = await shMaybe`ip netns pids ${ns}`;
  return out.stdout.split('\n').filter(Boolean).map(Number);
}

export async function deleteNamespace(ns: string): Promise<void> {
  await shMaybe`ip netns del ${ns}`;
}

export async function removeControllerEtc(names: LabNames): Promise<void> {
  await rm(netnsEtcDir(names), { recursive: true, force: true });
}
