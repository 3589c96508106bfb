import { q } from '../transport/shell.ts';
import { metaChanges, normalizeMode, ownership, parseFileState, predictFile, probeFile } from './file-state.ts';
import { ResourceError, runOrFail, type Change, type Resource } from './types.ts';

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
      if (state.kind === 'file' || state.kind === 'other')
        throw new ResourceError(`${spec.path} exists and is not a directory`);
      const absent = state.kind === 'absent';
      const changes: Change[] = [
        ...(absent ? [{ type: 'value' as const, what: 'directory', before: 'absent', after: 'present' }] : []),
        ...metaChanges(state, mode, spec.owner, spec.group),
      ];
      const p = q(spec.path);
      const own = ownership(spec.owner, spec.group);
      const script = [`mkdir -p ${p}`, mode && `chmod ${mode} ${p}`, own && `chown ${own} ${p}`]
        .filter(Boolean)
        .join(' && ');
      const after = {
        kind: 'directory' as const,
        mode: mode ?? (absent ? '0755' : state.mode),
        owner: spec.owner ?? state.owner,
        group: spec.group ?? state.group,
      };
      return {
        changes,
        apply: async (remote) => void (await runOrFail(remote, `creating ${spec.path}`, script)),
        predicts: () => predictFile(spec.path, after),
      };
    },
  };
}
