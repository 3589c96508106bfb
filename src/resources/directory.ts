import { q } from '../transport/shell.ts';
import { normalizeMode, parseFileState, probeFile } from './file-state.ts';
import { ResourceError, run, type Change, type Resource } from './types.ts';

export interface DirectorySpec {
  path: string;
  mode?: string;
  owner?: string;
  group?: string;
}

/** A directory (parents created as needed) with the declared mode and owner. */
export function directoryResource(spec: DirectorySpec): Resource {
  const mode = spec.mode === undefined ? undefined : normalizeMode(spec.mode);
  return {
    describe: `directory ${spec.path}`,
    probe: probeFile(spec.path, 'none'),
    plan(current) {
      const state = parseFileState(current?.stdout ?? 'absent');
      if (state.kind === 'file' || state.kind === 'other') throw new ResourceError(`${spec.path} exists and is not a directory`);
      const absent = state.kind === 'absent';
      const changes: Change[] = absent ? [{ type: 'value', what: 'directory', before: 'absent', after: 'present' }] : [];
      const meta: [string, string | undefined, string | undefined][] = [
        ['mode', mode, state.mode],
        ['owner', spec.owner, state.owner],
        ['group', spec.group, state.group],
      ];
      for (const [what, want, have] of meta) {
        if (want !== undefined && want !== have) changes.push({ type: 'value', what, before: absent ? null : (have ?? null), after: want });
      }
      const p = q(spec.path);
      const own = spec.owner || spec.group ? `chown ${q(spec.owner ?? '')}${spec.group ? `:${q(spec.group)}` : ''} ${p}` : '';
      const script = [`mkdir -p ${p}`, mode && `chmod ${mode} ${p}`, own].filter(Boolean).join(' && ');
      return { changes, apply: async (remote) => void (await run(remote, `creating ${spec.path}`, script)) };
    },
  };
}
