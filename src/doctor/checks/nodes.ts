import type { Facts, NodeFacts, Reach } from '../facts.ts';
import { fail, ok, type Finding } from '../findings.ts';
import { nodesOf, type Intended } from '../intended.ts';
import { nodeNamed } from './kube.ts';
import { K3S_NFT } from '../../resources/nft-command.ts';

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
      const mode = intended.kubeProxyMode[host];
      if (n.active === 'active' && mode) out.push(kubeProxyCheck(host, n, mode));
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

/**
 * kube-proxy as it runs, against k3s-config's mode: config.yaml's drift shows what the file
 * says, this what K3s started with (an edit without a restart, or an argument from elsewhere).
 * With IPVS, strictARP too: without it every node answers ARP for every Service address.
 */
function kubeProxyCheck(host: string, n: NodeFacts, mode: string): Finding {
  const check = 'kube-proxy mode';
  const restart = `systemctl restart ${n.unit} on ${host} (K3s reads config.yaml at start); if config.yaml differs from play's, rerun: play site.yaml -i INVENTORY --role k3s-config --limit ${host}`;
  if ('unreadable' in n.kubeProxy)
    return fail(
      'node',
      host,
      check,
      [`kube-proxy's /configz: ${n.kubeProxy.unreadable}`],
      `kube-proxy is not running on ${host} (K3s started with disable-kube-proxy, or kube-proxy failed: journalctl -u ${n.unit} | grep kube-proxy): Services' addresses are not routed on this node`,
      restart,
    );
  const evidence = [
    `kube-proxy's /configz: mode ${n.kubeProxy.mode}${n.kubeProxy.mode === 'ipvs' ? `, strictARP ${n.kubeProxy.strictARP}` : ''}`,
    `k3s-config: kube_proxy_mode ${mode}`,
  ];
  if (n.kubeProxy.mode !== mode)
    return fail(
      'node',
      host,
      check,
      evidence,
      `kube-proxy runs in ${n.kubeProxy.mode} mode, not ${mode}: K3s was not restarted after config.yaml changed, or kube-proxy-arg comes from elsewhere (a config.yaml.d drop-in, the unit's arguments)`,
      restart,
    );
  if (mode === 'ipvs' && !n.kubeProxy.strictARP)
    return fail(
      'node',
      host,
      check,
      evidence,
      "IPVS without strict ARP: every node answers ARP for every Service address (the article's ARP flux), so layer2 traffic lands on a random node",
      `k3s-config sets kube-proxy-arg ipvs-strict-arp=true; ${restart}`,
    );
  return ok('node', host, check, evidence);
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
      `play site.yaml -i INVENTORY --role firewall --check --diff shows whether the ruleset on ${r.to} differs from play's; ${K3S_NFT} list ruleset there shows what drops it`,
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
