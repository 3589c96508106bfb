import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';

/** One lab host: a Debian VDS stand-in with its own network namespace and writable layer. */
export interface HostSpec {
  name: string;
  address: string;
  groups: string[];
}

export interface Topology {
  /** The /24 all hosts and the controller share, written as a.b.c.0/24. */
  subnet: string;
  /** The controller namespace's address on the lab bridge. */
  controller: string;
  hosts: HostSpec[];
  /** Inventory groups made of other groups, as Ansible's `children:`. */
  groupChildren: Record<string, string[]>;
  /**
   * Address blocks the provider routes to one of the lab's hosts, as a provider routes a
   * customer's block to the VDS that announces it (the article's edge, for MetalLB's pools).
   */
  routes: { prefix: string; via: string }[];
}

/**
 * The internet beyond the provider's router: the controller namespace routes between the hosts'
 * segment and this one, where the lab's client lives (test/lab/README.md, "The provider's network").
 */
export const INTERNET = { subnet: '203.0.113.0/24', router: '203.0.113.1', client: '203.0.113.10' } as const;

const SUBNET = '192.0.2';
const FIRST_WORKER_OCTET = 12;

/**
 * The article's cluster: an FRR edge router, one K3s server and N agents on one segment.
 * The benchmark scales it with `workers`.
 */
export function defaultTopology(workers = 2): Topology {
  const lastOctet = FIRST_WORKER_OCTET + workers - 1;
  if (!Number.isInteger(workers) || workers < 0 || lastOctet > 250) {
    throw new Error(`workers: expected an integer from 0 to ${250 - FIRST_WORKER_OCTET + 1}, got ${workers}`);
  }
  const agents = Array.from({ length: workers }, (_, i) => ({
    name: `w${i + 1}`,
    address: `${SUBNET}.${FIRST_WORKER_OCTET + i}`,
    groups: ['k3s_agent'],
  }));
  return {
    subnet: `${SUBNET}.0/24`,
    controller: `${SUBNET}.254`,
    hosts: [
      { name: 'edge', address: `${SUBNET}.1`, groups: ['edge'] },
      { name: 'cp1', address: `${SUBNET}.11`, groups: ['k3s_server'] },
      ...agents,
    ],
    groupChildren: { k3s_cluster: ['k3s_server', 'k3s_agent'] },
    // The examples' BGP pools (198.51.100.128/27) lie in this block.
    routes: [{ prefix: '198.51.100.0/24', via: 'edge' }],
  };
}

/** Host names become veth names (`v-NAME`, at most 15 characters) and hostnames. */
const HOST_NAME = /^[a-z][a-z0-9-]{0,12}$/;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

type Path = (string | number)[];

/** Reads a topology file; every error names the file, the line and the key path. */
export function loadTopology(file: string): Topology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line } = lineCounter.linePos(e.pos[0]);
    throw new Error(`${file}:${line}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const fail = (path: Path, expected: string): never => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : 1;
    const key = path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
      .join('')
      .replace(/^\./, '');
    throw new Error(`${file}:${line}: ${key || '(document)'}: expected ${expected}`);
  };
  return validate(doc, fail);
}

function validate(doc: Document, fail: (path: Path, expected: string) => never): Topology {
  const data: unknown = doc.toJS();
  if (!isRecord(data)) return fail([], 'a mapping with subnet, controller and hosts');
  const subnetMatch = typeof data.subnet === 'string' ? /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(data.subnet) : null;
  if (!subnetMatch || !isIpv4(`${subnetMatch[1]}.0`)) return fail(['subnet'], 'an IPv4 /24 written as a.b.c.0/24');
  const subnet = data.subnet as string;
  const prefix = subnetMatch[1]!;
  const inSubnet = (value: unknown): value is string =>
    typeof value === 'string' && isIpv4(value) && value.startsWith(`${prefix}.`) && !/\.(0|255)$/.test(value);

  const { controller, hosts: rawHosts, groupChildren = {}, routes: rawRoutes = [] } = data;
  if (!inSubnet(controller)) return fail(['controller'], `a host address in ${subnet}`);
  if (!Array.isArray(rawHosts) || rawHosts.length === 0) return fail(['hosts'], 'a non-empty list of hosts');

  const seen = new Set<string>([controller]);
  const hosts = rawHosts.map((raw: unknown, i): HostSpec => {
    const host = isRecord(raw) ? raw : fail(['hosts', i], 'a mapping with name, address and groups');
    const { name, address, groups = [] } = host;
    if (typeof name !== 'string' || !HOST_NAME.test(name))
      fail(['hosts', i, 'name'], 'a host name of 1-13 characters [a-z0-9-], starting with a letter');
    if (!inSubnet(address)) return fail(['hosts', i, 'address'], `a host address in ${subnet}`);
    if (!isStringList(groups) || !groups.every((g) => GROUP_NAME.test(g)))
      fail(['hosts', i, 'groups'], 'a list of group names');
    for (const [key, value] of [
      ['name', name],
      ['address', address],
    ] as const) {
      if (seen.has(value as string)) fail(['hosts', i, key], `a unique ${key}, ${value} is used twice`);
      seen.add(value as string);
    }
    return { name: name as string, address, groups: groups as string[] };
  });

  if (!isRecord(groupChildren) || !Object.values(groupChildren).every(isStringList)) {
    return fail(['groupChildren'], 'a mapping of group name to a list of group names');
  }
  if (!Array.isArray(rawRoutes)) return fail(['routes'], 'a list of { prefix, via } routes');
  const routes = rawRoutes.map((raw: unknown, i) => {
    const route = isRecord(raw) ? raw : fail(['routes', i], 'a mapping with prefix and via');
    const { prefix, via } = route;
    const [net = '', len = ''] = typeof prefix === 'string' ? prefix.split('/') : [];
    if (!isIpv4(net) || !/^\d{1,2}$/.test(len) || Number(len) > 32 || net.startsWith(`${subnetMatch[1]}.`))
      fail(['routes', i, 'prefix'], `an IPv4 prefix a.b.c.d/len outside ${subnet}`);
    if (!hosts.some((h) => h.name === via)) fail(['routes', i, 'via'], 'the name of a host of this topology');
    return { prefix: prefix as string, via: via as string };
  });
  if (subnet === INTERNET.subnet) return fail(['subnet'], `a /24 other than ${INTERNET.subnet}, the lab's internet`);
  return { subnet, controller, hosts, groupChildren: groupChildren as Record<string, string[]>, routes };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isIpv4(value: string): boolean {
  const m = IPV4.exec(value);
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255);
}
