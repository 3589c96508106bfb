import { toYaml } from '../input/lazy-yaml.ts';
import type { Remote } from '../transport/remote.ts';
import { inSections, q, sectionsOf } from '../transport/shell.ts';
import { receiveInto, REMOVE_TEMP_ON_EXIT } from './received-content.ts';
import { ResourceError, runOrFail, type Change, type Resource } from './types.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface KubeObjectsSpec {
  /** How to run kubectl on the host, e.g. `k3s kubectl`. */
  kubectl: string;
  objects: KubeObject[];
  /**
   * Objects of these kinds (`kind.group` in lower case, as `ipaddresspool.metallb.io` or
   * `secret`) in this namespace carrying these labels that `objects` no longer names are deleted.
   */
  prune?: {
    labels: Record<string, string>;
    kinds: string[];
    namespace: string;
    /**
     * Kinds whose stale objects are deleted before the others are applied, when an object kept
     * would make the new ones be refused (MetalLB refuses a pool overlapping an existing one).
     * The rest are deleted after: an object may only go once nothing refers to it any more
     * (MetalLB refuses to delete a BFD profile a peer still names).
     */
    first?: string[];
  };
  /**
   * An admission webhook may lag behind its deployment ("failed calling webhook"): apply is
   * retried this many times. A refusal (a webhook's denial, an invalid object) is not retried.
   */
  attempts?: number;
  retryDelayMs?: number;
}

const MARK = '@@play-kube@@';
/** `kind.group` in lower case, as kubectl takes it and as `kubectl get -o name` prints it. */
const kindRef = (o: KubeObject): string =>
  `${o.kind.toLowerCase()}${o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : ''}`;
const id = (o: KubeObject): string => `${kindRef(o)}/${o.metadata.name}`;
const liveKey = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * Kubernetes objects as declared: created or updated with `kubectl apply` (retried while a
 * webhook lags), compared field by field with what the API server holds, and the objects this
 * role made earlier but no longer declares deleted (found by their owner labels).
 */
export function kubeObjectsResource(spec: KubeObjectsSpec): Resource {
  // One `kubectl get` per namespace for every kind declared or pruned there, owned objects found
  // in it by their labels: each kubectl call costs a process start, and this is read on every rerun.
  const kinds = kindsByNamespace(spec);
  const reads = [...kinds].map(
    ([n, k]) =>
      `${spec.kubectl} get ${q([...k].join(','))}${n ? ` -n ${q(n)}` : ''} -o json 2>/dev/null || echo '{"items":[]}'`,
  );
  const prune = spec.prune;
  return {
    describe: `kubernetes objects (${spec.objects.length})`,
    probe: inSections(MARK, reads),
    plan(current) {
      const found = new Map<string, KubeObject>();
      for (const part of sectionsOf(MARK, current?.stdout ?? '')) {
        for (const item of (parseJson(part) as { items?: KubeObject[] } | undefined)?.items ?? [])
          found.set(liveKey(item), item);
      }
      const owned = prune ? [...found.values()].filter((o) => isOwned(o, prune)).map(id) : [];
      const live: (Record<string, unknown> | undefined)[] = spec.objects.map((o) => found.get(liveKey(o)));
      const stale = spec.objects.filter((o, i) => !isSubset(comparable(o), live[i]));
      const wanted = new Set(spec.objects.map(id));
      const extra = owned.filter((name) => !wanted.has(name));
      const changes: Change[] = [
        ...stale.map((o): Change => {
          const before = live[spec.objects.indexOf(o)];
          return {
            type: 'content',
            path: id(o),
            before: before && Object.keys(before).length ? toYaml(project(before, comparable(o))) : null,
            after: toYaml(comparable(o)),
          };
        }),
        ...extra.map((name): Change => ({
          type: 'value',
          what: name,
          before: 'present',
          after: 'absent (no longer declared)',
        })),
      ];
      return {
        changes,
        apply: async (remote) => {
          const first = (name: string): boolean => (prune?.first ?? []).includes(name.split('/')[0] ?? '');
          const remove = async (names: string[]): Promise<void> => {
            for (const name of names) {
              const [kind = '', objName = ''] = name.split('/');
              await runOrFail(
                remote,
                `deleting ${name}`,
                `${spec.kubectl} delete ${q(kind)} ${q(objName)} -n ${q(prune?.namespace ?? 'default')} --ignore-not-found`,
              );
            }
          };
          await remove(extra.filter(first));
          if (stale.length > 0) await applyWithRetries(remote, spec, stale);
          await remove(extra.filter((n) => !first(n)));
        },
      };
    },
  };
}

function kindsByNamespace(spec: KubeObjectsSpec): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (namespace: string, kind: string): void =>
    void out.set(namespace, (out.get(namespace) ?? new Set()).add(kind));
  for (const o of spec.objects) add(o.metadata.namespace ?? '', kindRef(o));
  for (const kind of spec.prune?.kinds ?? []) add(spec.prune?.namespace ?? '', kind);
  return out;
}

function isOwned(o: KubeObject, prune: NonNullable<KubeObjectsSpec['prune']>): boolean {
  const labels = o.metadata.labels ?? {};
  return (
    (o.metadata.namespace ?? '') === prune.namespace &&
    prune.kinds.includes(kindRef(o)) &&
    Object.entries(prune.labels).every(([k, v]) => labels[k] === v)
  );
}

async function applyWithRetries(remote: Remote, spec: KubeObjectsSpec, objects: KubeObject[]): Promise<void> {
  const attempts = spec.attempts ?? 10;
  const delay = Math.max(0.1, (spec.retryDelayMs ?? 3000) / 1000);
  const manifest = Buffer.from(objects.map((o) => `---\n${toYaml(o)}`).join(''));
  // A truncated manifest would apply some objects and not others: apply only what arrived whole.
  const script = [
    'set -e',
    't=$(mktemp)',
    ...REMOVE_TEMP_ON_EXIT,
    ...receiveInto(manifest),
    'set +e',
    `i=0; until out=$(${spec.kubectl} apply -f "$t" 2>&1); do`,
    // A denial stays a denial: only a webhook or API server not answering yet is worth waiting for.
    `  case "$out" in *'denied the request'*|*' is invalid'*|*'unknown field'*) printf '%s\\n' "$out" >&2; exit 3;; esac`,
    `  i=$((i + 1)); [ "$i" -ge ${attempts} ] && { printf '%s\\n' "$out" >&2; exit 1; }`,
    `  sleep ${delay}`,
    'done',
    'printf \'%s\\n\' "$out"',
  ].join('\n');
  const r = await remote.exec(script, { stdin: manifest });
  if (r.exitCode === 5)
    throw new ResourceError(
      'the manifest for kubectl apply did not arrive whole; nothing was applied',
      r.stderr.trim(),
    );
  if (r.exitCode === 3) throw new ResourceError('kubectl apply was refused', (r.stderr || r.stdout).trim());
  if (r.exitCode !== 0)
    throw new ResourceError(`kubectl apply failed after ${attempts} attempts`, (r.stderr || r.stdout).trim());
}

/** What is compared with the API server: what we declare, not what the server adds (status, uid). */
function comparable(o: KubeObject): KubeObject {
  const { status: _status, ...rest } = o;
  return rest as KubeObject;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ResourceError('kubectl printed something that is not JSON', text.slice(0, 500));
  }
}

/** Every field we declare has the same value live (the server may add defaults and metadata). */
function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want))
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object') return false;
    return Object.entries(want).every(([k, v]) => isSubset(v, (have as Record<string, unknown>)[k]));
  }
  return want === have;
}

/** The live object cut down to the fields we declare, so the diff shows only what differs. */
function project(have: unknown, want: unknown): unknown {
  if (
    Array.isArray(want) ||
    !want ||
    typeof want !== 'object' ||
    !have ||
    typeof have !== 'object' ||
    Array.isArray(have)
  )
    return have;
  return Object.fromEntries(
    Object.keys(want)
      .filter((k) => k in have)
      .map((k) => [k, project((have as Record<string, unknown>)[k], (want as Record<string, unknown>)[k])]),
  );
}
