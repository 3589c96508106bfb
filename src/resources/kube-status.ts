import { q } from '../transport/shell.ts';
import { sharedProbe } from './probe.ts';
import type { SharedProbe, SharedReader } from './types.ts';

/** Named Kubernetes objects read through one kubectl, one go-template per object. */
export interface KubeStatus {
  /** How kubectl is run on the host, e.g. `k3s kubectl`. */
  kubectl: string;
  /** A go-template for one object (kubectl's `-o go-template`), whether one or several are read. */
  template: string;
  /** Omitted when every object is cluster-scoped (nodes, CRDs): those join any namespace's call. */
  namespace?: string;
  /** `TYPE/NAME` of each object. */
  refs: string[];
}

/** One kubectl call per kubectl, template and namespace, cluster-scoped objects riding along. */
function kubeCalls(all: readonly KubeStatus[]): KubeStatus[] {
  const calls = new Map<string, KubeStatus>();
  for (const s of [...all.filter((x) => x.namespace !== undefined), ...all.filter((x) => x.namespace === undefined)]) {
    const same = `${s.kubectl}\0${s.template}`;
    const key =
      s.namespace === undefined
        ? ([...calls.keys()].find((k) => k.startsWith(`${same}\0`)) ?? `${same}\0`)
        : `${same}\0${s.namespace}`;
    const call = calls.get(key) ?? { ...s, refs: [] };
    call.refs.push(...s.refs.filter((r) => !call.refs.includes(r)));
    calls.set(key, call);
  }
  return [...calls.values()];
}

/**
 * The template applied to each object read: kubectl hands a template a List when several objects
 * are asked for, but the object itself when only one is.
 */
const eachObject = (template: string): string =>
  `{{define "object"}}${template}{{end}}{{if .items}}{{range .items}}{{template "object" .}}{{end}}{{else if ne .kind "List"}}{{template "object" .}}{{end}}`;

/** Every object's line goes to every reading: a reading is judged by the objects it names. */
const kubeStatusReader: SharedReader<KubeStatus> = {
  name: 'kube-status',
  key: (s) => JSON.stringify([s.kubectl, s.template, s.namespace ?? null, s.refs]),
  command: (items) =>
    `{ ${kubeCalls(items)
      .map(
        (c) =>
          `${c.kubectl} get ${c.refs.map(q).join(' ')}${c.namespace === undefined ? '' : ` -n ${q(c.namespace)}`} --ignore-not-found -o go-template=${q(eachObject(c.template))}`,
      )
      .join(' && ')}; }`,
  split: (out, items) => items.map(() => out),
};

export const kubeStatusProbe = (s: KubeStatus): SharedProbe<KubeStatus> => sharedProbe(kubeStatusReader, s);
