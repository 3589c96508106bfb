import { inSections, q, sectionsOf } from '../transport/shell.ts';
import { createHash } from 'node:crypto';
import { sharedProbe } from './probe.ts';
import type { Change, Prediction, Probe, SharedReader } from './types.ts';

/** What `probeFile` reports about a path. */
export interface FileState {
  kind: 'absent' | 'file' | 'directory' | 'other';
  mode?: string;
  owner?: string;
  group?: string;
  /** Bytes, for a regular file. */
  size?: number;
  content?: Buffer;
  /** For large files only their hash is read (a K3s binary is 70 MB). */
  sha256?: string;
}

const hashes = new WeakMap<Buffer, string>();

/**
 * A content's sha256, computed once per buffer: a file copied to every host (the 70 MB K3s
 * binary, one buffer for all) is compared, sent and checked by it several times per host.
 */
export function sha256(content: Buffer): string {
  let hash = hashes.get(content);
  if (hash === undefined) hashes.set(content, (hash = createHash('sha256').update(content).digest('hex')));
  return hash;
}

/** Files up to this size are read whole (for diffs); larger ones are compared by hash. */
export const DIFFABLE_BYTES = 256 * 1024;

/** What is read of a file besides its metadata: content (base64), its sha256, or nothing. */
export type FileRead = 'content' | 'hash' | 'none';
export type ProbeContent = FileRead;

/** The metadata line: type, mode, owner, group, size. */
const FILE_META = '%F|%a|%U|%G|%s';

interface FileItem {
  read: FileRead;
  path: string;
}

const CONTENT_MARK = '@@play-file-content@@';

/** How many of a `stat` line's fields are metadata: the path follows (and may hold `|`). */
const META_FIELDS = FILE_META.split('|').length;

const fileBody: Record<Exclude<FileRead, 'none'>, (p: string) => string> = {
  content: (p) => `{ [ -f ${p} ] && base64 -w0 ${p}; echo; }`,
  hash: (p) => `{ [ -f ${p} ] && sha256sum <${p} | sed 's/ .*//;s/^/sha256:/' || echo; }`,
};

/**
 * Every file a host's tasks read, in one command: metadata from one `stat` (existing paths only),
 * then one line per read file: its content in base64, or its hash, or empty for no regular file.
 * Each file's part is what fileProbeCommand prints for it alone.
 */
const fileReader: SharedReader<FileItem> = {
  name: 'file',
  key: (f) => `${f.read}:${f.path}`,
  command: (files) => {
    const paths = [...new Set(files.map((f) => f.path))].map(q).join(' ');
    const bodies = files.flatMap((f) => (f.read === 'none' ? [] : [fileBody[f.read](q(f.path))]));
    return inSections(CONTENT_MARK, [`stat -c '${FILE_META}|%n' -- ${paths} 2>/dev/null`, bodies.join('; ')]);
  },
  split: (out, files) => {
    const [stats = '', contents = ''] = sectionsOf(CONTENT_MARK, out);
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
    return files.map(({ read, path }) => {
      const body = read === 'none' ? undefined : bodies[next++];
      const m = meta.get(path);
      if (m === undefined) return 'absent';
      return m.startsWith('regular') && body !== undefined ? `${m}\n${body}` : m;
    });
  },
};

/** Reads a file as part of the host's shared file reading (one `stat` for all). */
export function probeFile(path: string, read: ProbeContent): Probe {
  // The shared reading prints one line per file: a path with a newline is read on its own.
  return path.includes('\n') ? fileProbeCommand(path, read) : sharedProbe(fileReader, { read, path });
}

/** One line of metadata, then (regular files only) the content in base64, or its sha256, on the next line. */
export function fileProbeCommand(path: string, read: ProbeContent): string {
  const p = q(path);
  const body = {
    content: `; [ -f ${p} ] && base64 -w0 ${p}; true`,
    hash: `; [ -f ${p} ] && sha256sum ${p} | sed 's/^/sha256:/;s/ .*//'; true`,
    none: '',
  }[read];
  return `if [ -e ${p} ] || [ -L ${p} ]; then stat -c '${FILE_META}' ${p}${body}; else echo absent; fi`;
}

export function parseFileState(stdout: string): FileState {
  const [meta = '', body = ''] = stdout.split('\n');
  if (meta === 'absent') return { kind: 'absent' };
  const [type = '', mode = '', owner = '', group = '', size = ''] = meta.split('|');
  const kind = type.startsWith('regular') ? 'file' : type === 'directory' ? 'directory' : 'other';
  const state: FileState = { kind, mode: normalizeMode(mode), owner, group };
  if (kind !== 'file') return state;
  state.size = Number(size);
  if (body.startsWith('sha256:')) state.sha256 = body.slice('sha256:'.length).trim();
  else state.content = Buffer.from(body, 'base64');
  return state;
}

/** `644`, `0644` and `'0644'` all mean the same; compare them in one form. */
export function normalizeMode(mode: string | number): string {
  const s = typeof mode === 'number' ? mode.toString(8) : mode;
  if (!/^[0-7]{3,4}$/.test(s)) throw new Error(`invalid file mode "${mode}": expected octal like "0644"`);
  return s.padStart(4, '0');
}

/** Whether a buffer (or a string, as it will be written) is text we can show as a unified diff. */
export function isText(b: Buffer | string): boolean {
  // A string written as UTF-8 reads back the same unless it holds half a surrogate pair.
  if (typeof b === 'string') return !b.includes('\0') && b.isWellFormed();
  return !b.includes(0) && Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

/** Mode, owner and group that differ from what is declared (undeclared ones are left alone). */
export function metaChanges(state: FileState, mode?: string, owner?: string, group?: string): Change[] {
  const was = (v: string | undefined): string | null => (state.kind === 'absent' ? null : (v ?? null));
  const wanted: [string, string | undefined, string | undefined][] = [
    ['mode', mode, state.mode],
    ['owner', owner, state.owner],
    ['group', group, state.group],
  ];
  return wanted
    .filter(([, want, have]) => want !== undefined && want !== have)
    .map(([what, want, have]) => ({ type: 'value', what, before: was(have), after: want ?? null }));
}

/** `chown`'s argument for a declared owner and/or group; empty when neither is declared. */
export function ownership(owner?: string, group?: string): string {
  if (!owner && !group) return '';
  return `${q(owner ?? '')}${group ? `:${q(group)}` : ''}`;
}

/**
 * How every reading of `path` (content, hash or metadata only) would look once it is `after`
 * (absent, a file with this content, or a directory), in the format `probeFile` prints: check
 * mode's prediction for later tasks that read the same path.
 */
export function predictFile(path: string, after: FileState): Prediction[] {
  const reads: ProbeContent[] = ['content', 'hash', 'none'];
  if (after.kind === 'absent') return reads.map((read) => ({ probe: probeFile(path, read), stdout: 'absent' }));
  const type = after.kind === 'directory' ? 'directory' : 'regular file';
  const meta = `${type}|${Number.parseInt(after.mode ?? '0644', 8).toString(8)}|${after.owner ?? 'root'}|${after.group ?? 'root'}|${after.size ?? 4096}`;
  const body = (read: ProbeContent): string => {
    if (after.kind !== 'file' || read === 'none') return '';
    if (read === 'hash') return `\nsha256:${after.sha256 ?? (after.content ? sha256(after.content) : '')}`;
    return `\n${after.content?.toString('base64') ?? ''}`;
  };
  return reads.map((read) => ({ probe: probeFile(path, read), stdout: `${meta}${body(read)}` }));
}
