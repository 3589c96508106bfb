import type { Facts, Reach } from '../facts.ts';
import { fail, ok, type Finding } from '../findings.ts';
import { nodesOf, type Intended } from '../intended.ts';
import { nodeNamed } from './kube.ts';

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
    const node = nodeNamed(facts.cluster, host);
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
  out.push(...facts.reach.map(reachCheck));
  return out;
}

/** A real connection attempt between two hosts, judged: a drop is the firewall, a refusal is nothing listening. */
function reachCheck(r: Reach): Finding {
  const check = `reaches ${r.to}:${r.port} (${r.what})`;
  const evidence = [`TCP connect from ${r.from} to ${r.to}:${r.port}: ${r.result}`];
  if (r.result === 'open') return ok('node', r.from, check, evidence);
  if (r.result === 'filtered')
    return fail(
      'node',
      r.from,
      check,
      evidence,
      `no answer at all: a firewall drops ${r.port}/tcp from ${r.from} to ${r.to} (play's firewall on ${r.to}, or the provider's)`,
      `play site.yaml -i INVENTORY --role firewall --check --diff shows whether the ruleset on ${r.to} differs from play's; nft list ruleset there shows what drops it`,
    );
  return fail(
    'node',
    r.from,
    check,
    evidence,
    `${r.to} refused: nothing listens on ${r.port} there (${r.port === 7946 ? "MetalLB's speaker is not running" : 'K3s is not running'} on it)`,
    `see that host's checks above; systemctl status k3s or k3s-agent there`,
  );
}
