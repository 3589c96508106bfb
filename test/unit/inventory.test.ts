import { describe, expect, it } from 'vitest';
import { inventoryHosts, inventoryVars } from '../lab/inventory.ts';
import { defaultTopology } from '../lab/topology.ts';

describe('lab inventory', () => {
  it('lists every host under each of its groups, with its address, and nests group children', () => {
    expect(inventoryHosts(defaultTopology(1))).toEqual({
      all: {
        children: {
          edge: { hosts: { edge: { ansible_host: '192.0.2.1' } } },
          k3s_server: { hosts: { cp1: { ansible_host: '192.0.2.11' } } },
          k3s_agent: { hosts: { w1: { ansible_host: '192.0.2.12' } } },
          k3s_cluster: { children: { k3s_server: {}, k3s_agent: {} } },
        },
      },
    });
  });

  it('tells how to reach the hosts and where the K3s stand-in is', () => {
    const vars = inventoryVars({
      privateKey: '/l/id',
      knownHosts: '/l/kh',
      k3sStandin: '/p/k3s',
      metallbManifest: '/l/metallb.yaml',
    });
    expect(vars).toEqual({
      ansible_user: 'root',
      ansible_ssh_private_key_file: '/l/id',
      ansible_ssh_common_args: '-o UserKnownHostsFile=/l/kh -o StrictHostKeyChecking=yes',
      k3s_airgap_binary: '/p/k3s',
      metallb_manifest_file: '/l/metallb.yaml',
    });
  });
});
