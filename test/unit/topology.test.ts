import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultTopology, loadTopology } from '../lab/topology.ts';

const dir = mkdtempSync(join(tmpdir(), 'play-topology-'));
function topologyFile(text: string): string {
  const file = join(dir, `t${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

const GOOD = `subnet: 192.0.2.0/24
controller: 192.0.2.254
hosts:
  - name: edge
    address: 192.0.2.1
    groups: [edge]
  - name: cp1
    address: 192.0.2.11
    groups: [k3s_server]
groupChildren:
  k3s_cluster: [k3s_server]
`;

describe('default topology', () => {
  it('is the article cluster: edge router, one K3s server, two agents', () => {
    const t = defaultTopology();
    expect(t.hosts.map((h) => `${h.name}=${h.address}`)).toEqual([
      'edge=192.0.2.1',
      'cp1=192.0.2.11',
      'w1=192.0.2.12',
      'w2=192.0.2.13',
    ]);
    expect(t.controller).toBe('192.0.2.254');
    expect(t.groupChildren).toEqual({ k3s_cluster: ['k3s_server', 'k3s_agent'] });
    // The provider routes the examples' BGP pools to the edge.
    expect(t.routes).toEqual([{ prefix: '198.51.100.0/24', via: 'edge' }]);
  });

  it('scales to the benchmark sizes with distinct addresses', () => {
    const t = defaultTopology(30);
    expect(t.hosts).toHaveLength(32);
    expect(new Set(t.hosts.map((h) => h.address)).size).toBe(32);
    expect(t.hosts.at(-1)).toEqual({ name: 'w30', address: '192.0.2.41', groups: ['k3s_agent'] });
  });

  it('refuses more workers than the /24 holds', () => {
    expect(() => defaultTopology(300)).toThrow(/workers: expected an integer from 0 to 239, got 300/);
  });
});

describe('topology file', () => {
  it('reads a valid file', () => {
    const t = loadTopology(topologyFile(GOOD));
    expect(t.hosts).toEqual([
      { name: 'edge', address: '192.0.2.1', groups: ['edge'] },
      { name: 'cp1', address: '192.0.2.11', groups: ['k3s_server'] },
    ]);
    expect(t.groupChildren).toEqual({ k3s_cluster: ['k3s_server'] });
    expect(t.routes).toEqual([]);
    expect(loadTopology(topologyFile(`${GOOD}routes:\n  - { prefix: 198.51.100.0/24, via: edge }\n`)).routes).toEqual([
      { prefix: '198.51.100.0/24', via: 'edge' },
    ]);
  });

  it.each([
    [
      'an address outside the subnet',
      GOOD.replace('192.0.2.11', '10.0.0.5'),
      ':8: hosts[1].address: expected a host address in 192.0.2.0/24',
    ],
    [
      'a duplicate address',
      GOOD.replace('192.0.2.11', '192.0.2.1'),
      ':8: hosts[1].address: expected a unique address, 192.0.2.1 is used twice',
    ],
    [
      'the controller address on a host',
      GOOD.replace('192.0.2.11', '192.0.2.254'),
      ':8: hosts[1].address: expected a unique address',
    ],
    [
      'a duplicate name',
      GOOD.replace('name: cp1', 'name: edge'),
      ':7: hosts[1].name: expected a unique name, edge is used twice',
    ],
    [
      'a name too long for a veth',
      GOOD.replace('name: cp1', 'name: averyveryverylongname'),
      ':7: hosts[1].name: expected a host name of 1-13 characters',
    ],
    [
      'groups that are not a list',
      GOOD.replace('groups: [edge]', 'groups: edge'),
      ':6: hosts[0].groups: expected a list of group names',
    ],
    [
      'a bad subnet',
      GOOD.replace('192.0.2.0/24', '192.0.2.0/16'),
      ':1: subnet: expected an IPv4 /24 written as a.b.c.0/24',
    ],
    [
      'no hosts',
      'subnet: 192.0.2.0/24\ncontroller: 192.0.2.254\nhosts: []\n',
      ':3: hosts: expected a non-empty list of hosts',
    ],
    [
      'a routed block via a host that does not exist',
      `${GOOD}routes:\n  - { prefix: 198.51.100.0/24, via: edge2 }\n`,
      ':13: routes[0].via: expected the name of a host of this topology',
    ],
    [
      "a routed block inside the hosts' subnet",
      `${GOOD}routes:\n  - { prefix: 192.0.2.128/25, via: edge }\n`,
      ':13: routes[0].prefix: expected an IPv4 prefix a.b.c.d/len outside 192.0.2.0/24',
    ],
    [
      "the lab's internet as the hosts' subnet",
      GOOD.replaceAll('192.0.2.', '203.0.113.'),
      ':1: subnet: expected a /24 other than 203.0.113.0/24',
    ],
    ['a list at the top', '- a\n', ':1: (document): expected a mapping'],
    ['invalid YAML', 'subnet: [192.0.2.0/24\n', ':2: invalid YAML'],
  ])('names file, line and key path for %s', (_, text, expected) => {
    const file = topologyFile(text);
    expect(() => loadTopology(file)).toThrow(`${file}${expected}`);
  });
});
