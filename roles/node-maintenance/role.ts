import { command, defineRole, shellQuote as q, waitUntil, type RoleContext, type Task } from 'vds-play/role';
import { KUBECTL } from '../_shared/k3s-paths.ts';
import type { Vars } from './variables.gen.ts';
import { debianHost } from '../_shared/host-requirements.ts';

type Ctx = RoleContext<Vars>;

/**
 * MetalLB stops announcing a Service's address from a node with this label (cordoning does not,
 * since MetalLB v0.15.0); Kubernetes' own service controller reads it too.
 */
const EXCLUDE = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** A node's field through kubectl's go-template, for `unless` guards; nothing when it is not set. */
const nodeField = (node: string, template: string): string =>
  `${KUBECTL} get node ${q(node)} -o go-template=${q(`{{with ${template}}}{{.}}{{end}}`)}`;

/**
 * The pods a drain would evict: not finished, not a DaemonSet's (the drain leaves those), not a
 * static pod's mirror.
 */
const evictablePods = (node: string): string =>
  `${KUBECTL} get pods -A --field-selector ${q(`spec.nodeName=${node},status.phase!=Succeeded,status.phase!=Failed`)} -o go-template=${q(
    '{{range .items}}{{if not (or (index .metadata.annotations "kubernetes.io/config.mirror") (and .metadata.ownerReferences (eq (index .metadata.ownerReferences 0).kind "DaemonSet")))}}{{.metadata.namespace}}/{{.metadata.name}}{{"\\n"}}{{end}}{{end}}',
  )}`;

function drained(ctx: Ctx, node: string, server: string): Task[] {
  const { vars } = ctx;
  const address = ctx.hostAddress(node);
  const edges = vars.metallb_mode === 'bgp' ? ctx.groupHosts('edge') : [];
  return [
    command('announcements withdrawn: excluded from external load balancers', {
      run: `${KUBECTL} label node ${q(node)} ${q(`${EXCLUDE}=true`)} --overwrite`,
      unless: `${nodeField(node, `index .metadata.labels "${EXCLUDE}"`)} | grep -qx true`,
      delegateTo: server,
    }),
    // MetalLB's own status: a ServiceBGPStatus or ServiceL2Status per Service the node announces.
    waitUntil('MetalLB announces nothing from the node', {
      command: `! ${KUBECTL} get servicebgpstatuses,servicel2statuses -A -l ${q(`metallb.io/node=${node}`)} -o name | grep -q .`,
      explain: `${KUBECTL} get servicebgpstatuses,servicel2statuses -A -l ${q(`metallb.io/node=${node}`)}`,
      what: `MetalLB to withdraw what ${node} announces`,
      delegateTo: server,
      timeoutMs: vars.node_withdraw_timeout * 1000,
      intervalMs: 250,
    }),
    // The withdrawal reached the routers: nothing new is sent to the node from here on.
    ...edges.map((edge) =>
      waitUntil(`no route via the node left on ${edge}`, {
        command: `! ip route show proto bgp | grep -q ${q(`via ${address} `)}`,
        explain: `ip route show proto bgp | grep ${q(`via ${address} `)}`,
        what: `${edge} to stop routing via ${node} (${address})`,
        delegateTo: edge,
        timeoutMs: vars.node_withdraw_timeout * 1000,
        intervalMs: 250,
      }),
    ),
    command('cordoned', {
      run: `${KUBECTL} cordon ${q(node)}`,
      unless: `${nodeField(node, '.spec.unschedulable')} | grep -qx true`,
      delegateTo: server,
    }),
    // Evictions, not deletions: a PodDisruptionBudget holds a pod back until its replacement is
    // ready elsewhere; the drain retries until its timeout.
    command('drained, PodDisruptionBudgets honoured', {
      run: `${KUBECTL} drain ${q(node)} --ignore-daemonsets --delete-emptydir-data --timeout=${vars.node_drain_timeout}s`,
      unless: `! ${evictablePods(node)} | grep -q .`,
      delegateTo: server,
    }),
  ];
}

function inService(node: string, server: string): Task[] {
  return [
    command('schedulable', {
      run: `${KUBECTL} uncordon ${q(node)}`,
      unless: `! ${nodeField(node, '.spec.unschedulable')} | grep -qx true`,
      delegateTo: server,
    }),
    command('announcing again: no longer excluded from external load balancers', {
      run: `${KUBECTL} label node ${q(node)} ${q(`${EXCLUDE}-`)}`,
      unless: `! ${nodeField(node, `index .metadata.labels "${EXCLUDE}"`)} | grep -q .`,
      delegateTo: server,
    }),
  ];
}

export default defineRole<Vars>({
  requires: debianHost(),
  tasks: (ctx) => {
    const server = ctx.groupHosts('k3s_server')[0];
    if (!server) {
      ctx.reject(['node_maintenance'], 'the inventory has no host in group k3s_server to run kubectl on');
      return [];
    }
    const node = ctx.host.name;
    return ctx.vars.node_maintenance === 'drained' ? drained(ctx, node, server) : inService(node, server);
  },
});
