import { fileResource } from './file.ts';
import { parseFileState, probeFile } from './file-state.ts';
import { ResourceError, type Resource } from './types.ts';

export interface LinesSpec {
  path: string;
  /** Each line that matches `match` (a regular expression) becomes `line`; none matching: `line` is appended. */
  lines: { match: string; line: string }[];
}

/**
 * Some lines of a file the package owns (e.g. `bgpd=yes` in /etc/frr/daemons): only those lines
 * are managed, the rest stays as the package wrote it, and the diff shows just them.
 */
export function linesResource(spec: LinesSpec): Resource {
  const rules = spec.lines.map((l) => ({ re: new RegExp(l.match), line: l.line }));
  return {
    describe: `lines in ${spec.path}`,
    probe: probeFile(spec.path, 'content'),
    plan(current) {
      const state = parseFileState(current?.stdout ?? 'absent');
      if (state.kind === 'absent') {
        // Check mode on a fresh host: the package that brings the file is not installed yet.
        const after = `${spec.lines.map((l) => l.line).join('\n')}\n`;
        return {
          changes: [{ type: 'content', path: spec.path, before: null, after }],
          apply: () =>
            Promise.reject(new ResourceError(`${spec.path} does not exist (is the package that owns it installed?)`)),
        };
      }
      if (state.kind !== 'file' || !state.content) throw new ResourceError(`${spec.path} is not a regular file`);
      const text = state.content.toString('utf8');
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const rule of rules) {
        const hits = lines.map((l, i) => (rule.re.test(l) ? i : -1)).filter((i) => i >= 0);
        if (hits.length === 0) lines.push(rule.line);
        for (const i of hits) lines[i] = rule.line;
      }
      // Same probe output, so the file resource reads it as its own.
      return fileResource({ path: spec.path, content: `${lines.join('\n')}\n` }).plan(current);
    },
  };
}
