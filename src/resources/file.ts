import { q } from '../transport/shell.ts';
import type { Remote } from '../transport/remote.ts';
import {
  DIFFABLE_BYTES,
  isText,
  metaChanges,
  normalizeMode,
  ownership,
  parseFileState,
  predictFile,
  probeFile,
  sha256,
  type FileState,
  type ProbeContent,
} from './file-state.ts';
import { receiveInto, REMOVE_TEMP_ON_EXIT } from './received-content.ts';
import { ResourceError, runOrFail, type Change, type Plan, type Resource } from './types.ts';

export interface FileSpec {
  path: string;
  /** The whole content; omit to manage only mode/owner of an existing file. */
  content?: string | Buffer;
  mode?: string;
  owner?: string;
  group?: string;
  /** `absent` removes the file. */
  state?: 'present' | 'absent';
  /**
   * Checks the new content before it replaces the file: a command run on the temp file (`%s`),
   * e.g. `vtysh --dryrun -f %s`. If it fails, the old file stays and the task fails with its output.
   */
  validate?: string;
  /** Show content changes as size and checksum, not a diff (binaries, vendored manifests). */
  summarize?: boolean;
}

/** A regular file with exact content, written atomically (temp file + rename in the same directory). */
export function fileResource(spec: FileSpec): Resource {
  const mode = spec.mode === undefined ? undefined : normalizeMode(spec.mode);
  // A Buffer is used as given, never copied: a file copied to every host (the K3s binary) is one
  // buffer for all, read once, hashed once (sha256 is remembered per buffer). A string becomes
  // one only when planned: templates are built for every host before the run to check them, and
  // are then planned one host at a time.
  let buffer = typeof spec.content === 'string' ? undefined : spec.content;
  const text = typeof spec.content === 'string' ? spec.content : undefined;
  return {
    describe: `file ${spec.path}`,
    probe: probeFile(spec.path, probeMode(spec)),
    plan(current): Plan {
      const desired = (buffer ??= text === undefined ? undefined : Buffer.from(text));
      const state = parseFileState(current?.stdout ?? 'absent');
      if (state.kind === 'directory' || state.kind === 'other')
        throw new ResourceError(`${spec.path} exists and is not a regular file (${state.kind})`);
      if (spec.state === 'absent') return planAbsent(spec.path, state);
      if (state.kind === 'absent' && desired === undefined)
        throw new ResourceError(`${spec.path} does not exist and no content was declared for it`);
      const changes = [
        ...contentChange(spec.path, state, desired, spec.summarize),
        ...metaChanges(state, mode, spec.owner, spec.group),
      ];
      const content = desired ?? state.content;
      const after: FileState = {
        kind: 'file',
        // A new file without a declared mode is written 0644 (applyFile); an existing one keeps its own.
        mode: mode ?? (state.kind === 'file' ? state.mode : '0644'),
        owner: spec.owner ?? state.owner,
        group: spec.group ?? state.group,
        size: content?.length ?? state.size,
        content,
        sha256: desired === undefined ? state.sha256 : undefined,
      };
      return {
        changes,
        apply: (remote) => applyFile(remote, spec, state, desired, mode).then(() => undefined),
        predicts: () => predictFile(spec.path, after),
      };
    },
  };
}

/** Content is read only where it would be shown as a diff; otherwise its hash says enough. */
function probeMode(spec: FileSpec): ProbeContent {
  const desired = spec.content;
  if (desired !== undefined)
    return spec.summarize || Buffer.byteLength(desired) > DIFFABLE_BYTES || !isText(desired) ? 'hash' : 'content';
  return spec.state === 'absent' ? 'content' : 'none';
}

/** Whether the file on the host already holds exactly `desired`. */
function sameContent(state: FileState, desired: Buffer): boolean {
  return state.sha256 !== undefined ? state.sha256 === sha256(desired) : state.content?.equals(desired) === true;
}

function planAbsent(path: string, state: FileState): Plan {
  if (state.kind === 'absent') return { changes: [] };
  const before = state.content && isText(state.content) ? state.content.toString('utf8') : '(binary content)';
  return {
    changes: [{ type: 'content', path, before, after: null }],
    apply: async (remote) => void (await runOrFail(remote, `removing ${path}`, `rm -f ${q(path)}`)),
    predicts: () => predictFile(path, { kind: 'absent' }),
  };
}

function contentChange(path: string, state: FileState, desired: Buffer | undefined, summarize = false): Change[] {
  if (desired === undefined || sameContent(state, desired)) return [];
  const show = (b: Buffer | undefined): string | null =>
    b === undefined
      ? null
      : !summarize && isText(b) && b.length <= DIFFABLE_BYTES
        ? b.toString('utf8')
        : `(${b.length} bytes, sha256 ${sha256(b)})\n`;
  const before =
    state.sha256 !== undefined ? `(${state.size ?? '?'} bytes, sha256 ${state.sha256})\n` : show(state.content);
  return [{ type: 'content', path, before, after: show(desired) }];
}

async function applyFile(
  remote: Remote,
  spec: FileSpec,
  state: FileState,
  desired: Buffer | undefined,
  mode?: string,
): Promise<void> {
  const p = q(spec.path);
  const own = ownership(spec.owner, spec.group);
  if (desired === undefined || sameContent(state, desired)) {
    const cmds = [mode && `chmod ${mode} ${p}`, own && `chown ${own} ${p}`].filter(Boolean).join(' && ');
    if (cmds) await runOrFail(remote, `setting mode/owner of ${spec.path}`, cmds);
    return;
  }
  // Keep the old mode/owner when none is declared, as `cp` over an existing file would.
  const keepMeta =
    state.kind === 'file' ? `chown --reference=${p} "$t" && chmod --reference=${p} "$t"` : 'chmod 0644 "$t"';
  const script = [
    'set -e',
    'umask 077',
    `d=$(dirname ${p})`,
    `[ -d "$d" ] || { echo "directory $d does not exist" >&2; exit 3; }`,
    // A temp file left by a write whose shell was killed outright (SIGKILL, a host crash).
    `find "$d" -maxdepth 1 -name '.play-??????' -type f -mmin +10 -delete 2>/dev/null || true`,
    `t=$(mktemp "$d/.play-XXXXXX")`,
    ...REMOVE_TEMP_ON_EXIT,
    // Mode and owner before the content: a 0600 secret is never readable by others, not even
    // for a moment (chown before chmod: chown clears setuid bits).
    keepMeta,
    own ? `chown ${own} "$t"` : '',
    mode ? `chmod ${mode} "$t"` : '',
    ...receiveInto(desired),
    spec.validate
      ? `${spec.validate.replace(/%s/g, '"$t"')} >&2 || { echo "validation of the new ${spec.path} failed; the file is unchanged" >&2; exit 4; }`
      : '',
    // On disk before the rename, and the rename on disk before we report it done.
    'sync "$t"',
    `mv -f "$t" ${p}`,
    'trap - EXIT',
    'sync "$d"',
    `sha256sum ${p}`,
  ].filter(Boolean);
  const out = await runOrFail(remote, `writing ${spec.path}`, script.join('\n'), desired);
  if (!out.startsWith(sha256(desired)))
    throw new ResourceError(`${spec.path} does not hold what was written (checksum differs after rename)`);
}
