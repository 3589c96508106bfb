import type { Facts } from '../facts.ts';
import { fail, ok, type Finding } from '../findings.ts';
import { nodesOf, type Intended } from '../intended.ts';

/** Every K3s host: its service active, its Node Ready. */
export function nodeChecks(intended: Intended, facts: Facts): Finding[] {
  const out: Finding[] = [];
  for (const host of nodesOf(intended)) {
    const n = facts.nodes.find((x) => x.host === host);
    if (n) {
      out.push(
        n.active === 'active'
          ? ok('node', host, `${n.unit} service active`, [`systemctl is-active ${n.unit}: ${n.active}`])
          : fail(
              'node',
              host,
              `${n.unit} service active`,
              [`systemctl is-active ${n.unit}: ${n.active}`],
              `K3s is not running on ${host}: the node's pods (MetalLB's speaker) are gone with it`,
              `systemctl start ${n.unit}; if it fails again, journalctl -u ${n.unit} -n 50 says why`,
            ),
      );
    }
    if (!facts.cluster) continue;
    const node = facts.cluster.nodes.find((x) => x.metadata.name === host);
    const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') out.push(ok('node', host, 'Node Ready', [`kubectl get node ${host}: Ready`]));
    else {
      const evidence = node
        ? [
            `kubectl get node ${host}: Ready=${ready?.status ?? 'Unknown'}${ready?.message ? ` (${ready.message})` : ''}`,
          ]
        : [`kubectl get nodes: no node ${host}`];
      out.push(
        fail(
          'node',
          host,
          'Node Ready',
          evidence,
          node
            ? `the node stopped reporting to the API server (its K3s is down or cannot reach ${facts.cluster.from}:6443)`
            : `${host} never joined the cluster (wrong token or server URL, or 6443 blocked)`,
          `check ${n?.unit ?? 'k3s-agent'} on ${host} (journalctl -u ${n?.unit ?? 'k3s-agent'}), then rerun: play site.yaml -i INVENTORY --limit ${host}`,
        ),
      );
    }
  }
  return out;
}
