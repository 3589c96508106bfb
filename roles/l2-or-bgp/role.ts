import { checkSchema, defineRole, kubeObjects, type KubeObject, type RoleContext } from 'play/role';
import { OWNER_LABELS, type MetallbVars } from '../_shared/metallb.ts';
import { KUBECTL } from '../_shared/k3s-paths.ts';
import { METALLB_SCHEMAS } from './metallb-schema.ts';
import { renderMetallb } from './render.ts';
import { validateMetallb, type Neighbours } from './validate.ts';

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
  checks: (ctx) => {
    for (const f of validateMetallb(ctx.vars, neighbours(ctx)))
      (f.level === 'error' ? ctx.reject : ctx.caution)(f.path, f.message);
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
