import { closeSync, existsSync, lstatSync, openSync, unlinkSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../input/errors.ts';
import type { RunSummary } from '../engine/events.ts';
import type { Redactor } from './redact.ts';
import { tempFor, writeWhole } from './write-whole.ts';

export interface JsonReportInfo {
  playbook: string;
  inventory: string;
  exitCode: number;
}

/**
 * Refuses a --json path the report cannot replace safely, before the run (not after it, losing
 * its outcome): the report is renamed over the path, so anything there but a regular file (a
 * device such as /dev/stdout, a FIFO, a symbolic link to a system file) would be replaced, and a
 * directory where files cannot be created (/proc, /sys) would fail only at the end.
 */
export function checkReportPath(file: string): void {
  const why = ((): string | undefined => {
    const there = statOrUndefined(file);
    if (there?.isDirectory()) return 'it is a directory';
    if (there?.isSymbolicLink()) return 'it is a symbolic link (give the path it points to)';
    if (there && !there.isFile()) return 'it is not a regular file (a device, FIFO or socket would be replaced)';
    if (!existsSync(dirname(file))) return 'its directory does not exist';
    try {
      // The very file the report is written to first: this proves the rename's source can exist.
      closeSync(openSync(tempFor(file), 'wx', 0o600));
      unlinkSync(tempFor(file));
      return undefined;
    } catch (e) {
      return `a file cannot be created beside it (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
    }
  })();
  if (why) throw InputError.at({ file: '--json' }, `cannot write the report to ${file}: ${why}`);
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/** Whole or not at all: a reader (CI, a script polling for it) never sees half a report. */
export function writeReportFile(file: string, report: unknown): void {
  writeWhole(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** `--json FILE`: the same facts as the output, per task per host, secrets masked. */
export function writeJsonReport(file: string, summary: RunSummary, info: JsonReportInfo, redactor: Redactor): void {
  const report = {
    ...info,
    check: summary.check,
    interrupted: summary.interrupted,
    durationMs: summary.durationMs,
    recap: Object.fromEntries(summary.recap),
    results: summary.results.map((r) => ({ ...r, changes: r.changes.map((c) => redactor.change(c)) })),
  };
  writeReportFile(file, redactor.deep(report));
}
