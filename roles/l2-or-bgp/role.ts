import { checkSchema, defineRole, kubeObjects, type KubeObject, type RoleContext } from 'vds-play/role';
import { OWNER_LABELS, type MetallbVars } from '../_shared/metallb.ts';
import { KUBECTL } from '../_shared/k3s-paths.ts';
import { METALLB_SCHEMAS } from './metallb-schema.ts';
import { renderMetallb } from './render.ts';
import { validateMetallb, type Finding, type Neighbours } from './validate.ts';
import { debianHost } from '../_shared/host-requirements.ts';

const OWNED_KINDS = [
  'ipaddresspool.metallb.io',
  'l2advertisement.metallb.io',
  'bgppeer.metallb.io',
  'bfdprofile.metallb.io',
  'bgpadvertisement.metallb.io',
  'secret',
];

function neighbours(ctx: RoleContext<MetallbVars>): Neighbours {
  const at = (h: string) => ({ name: h, address: ctx.hostAddress(h) });
  const routers = [
    ...ctx.groupHosts('edge').map(at),
    ...ctx.vars.metallb_bgp_peers.map((p) => ({ name: `peer ${p.name}`, address: p.peerAddress })),
  ];
  return { nodes: ctx.groupHosts('k3s_cluster').map(at), routers };
}

/**
 * The checks compare every pool with every node, and run on every host: with thousands of hosts
 * that is millions of comparisons for the same answer. Hosts whose MetalLB variables are the same
 * share one verdict, per inventory (the cluster's member list, one array per inventory, keys it).
 */
const verdicts = new WeakMap<readonly string[], Map<string, Finding[]>>();
function findings(ctx: RoleContext<MetallbVars>): Finding[] {
  const inventory = ctx.groupHosts('k3s_cluster');
  const known = verdicts.get(inventory) ?? new Map<string, Finding[]>();
  verdicts.set(inventory, known);
  // What the checks read: the MetalLB variables, not the host's own (ansible_host differs on each).
  const key = JSON.stringify(Object.entries(ctx.vars).filter(([name]) => name.startsWith('metallb_')));
  const found = known.get(key) ?? validateMetallb(ctx.vars, neighbours(ctx));
  known.set(key, found);
  return found;
}

/** Rendered objects checked against the project's schema: a failure here is a bug in play, said plainly. */
function checked(objects: KubeObject[]): KubeObject[] {
  for (const o of objects) {
    const schema = METALLB_SCHEMAS[o.kind];
    const problems = schema
      ? checkSchema(schema, o, () => ({ file: `${o.kind}/${o.metadata.name}` }))
      : [{ message: `no schema for kind ${o.kind}` }];
    if (problems.length > 0)
      throw new Error(`rendered ${o.kind} ${o.metadata.name} is invalid: ${problems.map((p) => p.message).join('; ')}`);
  }
  return objects;
}

export default defineRole<MetallbVars>({
  requires: debianHost(),
  checks: (ctx) => {
    for (const f of findings(ctx)) (f.level === 'error' ? ctx.reject : ctx.caution)(f.path, f.message);
  },
  tasks: (ctx) => [
    kubeObjects(`MetalLB ${ctx.vars.metallb_mode} configuration`, {
      kubectl: KUBECTL,
      objects: checked(renderMetallb(ctx.vars)),
      prune: {
        labels: OWNER_LABELS,
        kinds: OWNED_KINDS,
        namespace: ctx.vars.metallb_namespace,
        first: ['ipaddresspool.metallb.io'],
      },
    }),
  ],
});
