import type { Remote } from '../transport/remote.ts';
import { FILE_META, type FileRead } from './file-state.ts';
import { q } from '../transport/shell.ts';
import type { Probe, SharedKind, SharedProbe } from './types.ts';

/**
 * How the resources of one kind read a host in one command. On a rerun, reading is most of what
 * the hosts do, and most of that was process starts: a `stat`, a `base64` and a `systemctl` per
 * resource. Merged, a host's batch starts about half as many processes.
 */
interface SharedReading {
  command(items: readonly string[]): string;
  /** Each item's part of the output, as its resource would have printed it on its own. */
  split(stdout: string, items: readonly string[]): string[];
}

const UNIT_PROPERTIES = 'LoadState,ActiveState,UnitFileState,NeedDaemonReload';

const PACKAGE_STATUS = `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n'`;

const CONTENT_MARK = '@@play-file-content@@';

/** How many of a `stat` line's fields are metadata: the path follows (and may hold `|`). */
const META_FIELDS = FILE_META.split('|').length;

/** A file item: what to read of it, then its path. */
const fileItem = (item: string): { read: FileRead; path: string } => {
  const at = item.indexOf(':');
  return { read: item.slice(0, at) as FileRead, path: item.slice(at + 1) };
};

const fileBody: Record<Exclude<FileRead, 'none'>, (p: string) => string> = {
  content: (p) => `{ [ -f ${p} ] && base64 -w0 ${p}; echo; }`,
  hash: (p) => `{ [ -f ${p} ] && sha256sum <${p} | sed 's/ .*//;s/^/sha256:/' || echo; }`,
};

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

export const kubeStatusProbe = (s: KubeStatus): SharedProbe => ({ kind: 'kube-status', item: JSON.stringify(s) });

/** One kubectl call per kubectl, template and namespace, cluster-scoped objects riding along. */
function kubeCalls(items: readonly string[]): KubeStatus[] {
  const calls = new Map<string, KubeStatus>();
  const all = items.map((i) => JSON.parse(i) as KubeStatus);
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

export const sharedReadings: Record<SharedKind, SharedReading> = {
  // Every object's line goes to every reading: a reading is judged by the objects it names.
  'kube-status': {
    command: (items) =>
      `{ ${kubeCalls(items)
        .map(
          (c) =>
            `${c.kubectl} get ${c.refs.map(q).join(' ')}${c.namespace === undefined ? '' : ` -n ${q(c.namespace)}`} --ignore-not-found -o go-template=${q(eachObject(c.template))}`,
        )
        .join(' && ')}; }`,
    split: (out, items) => items.map(() => out),
  },
  // One block per unit, in order, blank-line separated; unknown units print LoadState=not-found.
  unit: {
    command: (units) => `systemctl show -p ${UNIT_PROPERTIES} ${units.map(q).join(' ')}`,
    split: (out, units) => {
      const blocks = out.split('\n\n');
      return units.map((_, i) => blocks[i]?.trim() ?? '');
    },
  },
  packages: {
    command: (lists) =>
      `${PACKAGE_STATUS} ${[...new Set(lists.flatMap((l) => l.split(' ')))].map(q).join(' ')} 2>/dev/null; true`,
    split: (out, lists) => {
      const lines = out.split('\n').filter((l) => l.trim() !== '');
      return lists.map((l) => {
        const names = new Set(l.split(' '));
        return lines.filter((line) => names.has(line.split(' ')[0] ?? '')).join('\n');
      });
    },
  },
  // Metadata from one `stat` (existing paths only), then one line per read file: its content in
  // base64, or its hash, or empty for no regular file.
  file: {
    command: (items) => {
      const files = items.map(fileItem);
      const paths = [...new Set(files.map((f) => f.path))].map(q).join(' ');
      const bodies = files.flatMap((f) => (f.read === 'none' ? [] : [fileBody[f.read](q(f.path))]));
      return [`stat -c '${FILE_META}|%n' -- ${paths} 2>/dev/null`, `echo ${CONTENT_MARK}`, ...bodies].join('; ');
    },
    split: (out, items) => {
      const [stats = '', contents = ''] = out.split(`${CONTENT_MARK}\n`);
      const meta = new Map(
        stats
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const fields = l.split('|');
            return [fields.slice(META_FIELDS).join('|'), fields.slice(0, META_FIELDS).join('|')] as const;
          }),
      );
      const bodies = contents.split('\n');
      let next = 0;
      return items.map(fileItem).map(({ read, path }) => {
        const body = read === 'none' ? undefined : bodies[next++];
        const m = meta.get(path);
        if (m === undefined) return 'absent';
        return m.startsWith('regular') && body !== undefined ? `${m}\n${body}` : m;
      });
    },
  },
};

/** A probe's identity: equal keys read the same thing. */
export const probeKey = (p: Probe): string => (typeof p === 'string' ? p : `${p.kind}\0${p.item}`);

/** The command a probe runs when read on its own. */
export const ownCommand = (p: Probe): string => (typeof p === 'string' ? p : sharedReadings[p.kind].command([p.item]));

/** Reads one probe on its own, keeping stderr for messages (a poll, not a batch). */
export async function readAlone(
  remote: Remote,
  p: Probe,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = await remote.exec(ownCommand(p));
  return typeof p === 'string' ? r : { ...r, stdout: sharedReadings[p.kind].split(r.stdout, [p.item])[0] ?? '' };
}
