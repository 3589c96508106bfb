import { q } from '../transport/shell.ts';
import type { ExecResult, Remote } from '../transport/remote.ts';
import { ResourceError, type Resource } from './types.ts';

interface CommandBase {
  /** Shell code, run with /bin/sh. */
  run: string;
  /** When the command ran: did it change anything? Default: yes. */
  changedWhen?: (result: ExecResult) => boolean;
}

/**
 * Raw shell is the exception: it must say when it is already done (`creates`: a path it makes;
 * `unless`: a command that succeeds once done) or declare itself a read-only check.
 */
export type CommandSpec = CommandBase &
  ({ creates: string } | { unless: string } | { readOnly: true; report?: (stdout: string) => string });

export function commandResource(spec: CommandSpec): Resource {
  const runIt = async (remote: Remote): Promise<ExecResult> => {
    const r = await remote.exec(spec.run);
    if (r.exitCode !== 0)
      throw new ResourceError(
        `command failed (exit ${r.exitCode}): ${firstLine(spec.run)}`,
        (r.stderr || r.stdout).trim(),
      );
    return r;
  };
  if ('readOnly' in spec) {
    // A read-only check is a reading like any other: read with the rest, and again after a change.
    const report = spec.report;
    return {
      describe: `check ${firstLine(spec.run)}`,
      probe: spec.run,
      plan: (current) => {
        // Run again when it failed: a probe's stderr is not kept, and the error needs it.
        if (!current || current.exitCode !== 0)
          return { changes: [], inspect: async (remote) => void (await runIt(remote)) };
        return { changes: [], report: report?.(current.stdout) };
      },
    };
  }
  const guard = 'creates' in spec ? `test -e ${q(spec.creates)}` : spec.unless;
  return {
    describe: `command ${firstLine(spec.run)}`,
    probe: `( ${guard} ) >/dev/null 2>&1 && echo done || echo todo`,
    plan(current) {
      if (current?.stdout.trim() === 'done') return { changes: [] };
      const why = 'creates' in spec ? `${spec.creates} absent` : `\`${firstLine(spec.unless)}\` fails`;
      return {
        changes: [{ type: 'value', what: 'command', before: why, after: `ran: ${firstLine(spec.run)}` }],
        apply: async (remote) => {
          const r = await runIt(remote);
          return { changed: spec.changedWhen ? spec.changedWhen(r) : true };
        },
      };
    },
  };
}

const firstLine = (s: string): string => {
  const line = s.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
};
