import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { CompiledRun } from '../engine/compile.ts';
import { connector } from '../engine/connector.ts';
import { EXIT } from '../errors.ts';
import { ResourceError } from '../resources/types.ts';
import { UsageError } from '../input/errors.ts';
import { hostsOfGroup, type Inventory } from '../inventory/model.ts';
import type { Redactor } from '../output/redact.ts';
import { writeWhole } from '../output/write-whole.ts';
import type { EarlyConnections } from '../transport/early-connections.ts';
import { kubeconfigSecrets, rewriteKubeconfig, serverUrl } from './rewrite.ts';

const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml';

export interface KubeconfigOptions {
  output?: string;
  server?: string;
  name?: string;
  /** The inventory's path: its folder's name names the cluster by default. */
  inventoryPath: string;
  acceptNewHostKeys: boolean;
  become: boolean;
}

/**
 * `play kubeconfig`: reads K3s's kubeconfig from the first server, with the connection and become
 * site.yaml gives that host, and writes it here for kubectl. Nothing on the host changes.
 */
export async function fetchKubeconfig(
  compiled: CompiledRun,
  inv: Inventory,
  o: KubeconfigOptions,
  redactor: Redactor,
  write: (s: string) => void,
  early: EarlyConnections,
): Promise<number> {
  const server = hostsOfGroup(inv, 'k3s_server')[0];
  if (!server) throw new UsageError('play kubeconfig needs a cluster: the inventory has no k3s_server host');
  const name = o.name ?? basename(o.inventoryPath.replace(/\/+$/, '')).replace(/\.(ya?ml|ini)$/, '');
  const output = resolve(o.output ?? resolve(homedir(), '.kube', `${name}.yaml`));
  const play = compiled.plays.find((p) => p.hosts.includes(server));
  const hosts = connector(compiled, {
    acceptNewHostKeys: o.acceptNewHostKeys,
    become: o.become,
    early,
    signal: new AbortController().signal,
  });
  const conn = await hosts.connect(server);
  let read;
  try {
    read = await hosts.forPlay(conn, play).exec(`cat ${K3S_KUBECONFIG}`);
  } finally {
    conn.close();
  }
  redactor.add(...kubeconfigSecrets(read.stdout));
  if (read.exitCode !== 0)
    throw new ResourceError(
      `${server} has no readable ${K3S_KUBECONFIG} (K3s not installed yet? run site.yaml first): ${read.stderr.trim()}`,
    );
  const address = o.server ?? String(compiled.hostVars.get(server)?.ansible_host ?? server);
  const text = rewriteKubeconfig(read.stdout, { server: serverUrl(address), name });
  if (typeof text !== 'string')
    throw new ResourceError(`${K3S_KUBECONFIG} on ${server} cannot be used: ${text.problem}`);
  // Readable by its owner only from the first byte: it holds the cluster's admin credentials.
  mkdirSync(dirname(output), { recursive: true, mode: 0o700 });
  writeWhole(output, text, 0o600);
  write(
    `kubeconfig of ${name} (server ${serverUrl(address)}, read from ${server}) written to ${output}, mode 0600\n  KUBECONFIG=${output} kubectl get nodes`,
  );
  const admins = compiled.roleVars.get('firewall')?.get(server)?.firewall_admin_sources;
  if (Array.isArray(admins) && admins.length === 0)
    write(
      '  note: firewall_admin_sources is empty, so the firewall admits the API (6443) from the nodes only: add the address kubectl connects from',
    );
  return EXIT.ok;
}
