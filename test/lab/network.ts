import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh, shMaybe } from './run.ts';
import { hostNamespace, netnsEtcDir, type LabNames } from './paths.ts';
import type { HostSpec, Topology } from './topology.ts';

const BRIDGE = 'br0';

/** The controller namespace owns the lab bridge; nothing of the lab touches the machine's own network. */
export async function createController(names: LabNames, topology: Topology): Promise<void> {
  const ns = names.controller;
  await sh`ip netns add ${ns}`;
  await sh`ip -n ${ns} link set lo up`;
  await sh`ip -n ${ns} link add ${BRIDGE} type bridge`;
  await sh`ip -n ${ns} addr add ${topology.controller}/24 dev ${BRIDGE}`;
  await sh`ip -n ${ns} link set ${BRIDGE} up`;
}

/** The veth is born inside the controller namespace, so a crash never strands one on the machine. */
export async function createHostNetwork(names: LabNames, host: HostSpec): Promise<void> {
  const ns = hostNamespace(names, host.name);
  const veth = `v-${host.name}`;
  await sh`ip netns add ${ns}`;
  await sh`ip -n ${names.controller} link add ${veth} type veth peer name eth0 netns ${ns}`;
  await sh`ip -n ${names.controller} link set ${veth} master ${BRIDGE} up`;
  await sh`ip -n ${ns} link set lo up`;
  await sh`ip -n ${ns} addr add ${host.address}/24 dev eth0`;
  await sh`ip -n ${ns} link set eth0 up`;
}

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
