import { accessSync, constants, existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../input/errors.ts';
import type { RunSummary } from '../engine/events.ts';
import type { Redactor } from './redact.ts';

export interface JsonReportInfo {
  playbook: string;
  inventory: string;
  exitCode: number;
}

/** Refuses a --json path that cannot be written, before the run (not after it, losing its outcome). */
export function checkReportPath(file: string): void {
  const why = ((): string | undefined => {
    if (existsSync(file) && statSync(file).isDirectory()) return 'it is a directory';
    try {
      accessSync(existsSync(file) ? file : dirname(file), constants.W_OK);
      return undefined;
    } catch (e) {
      return `${existsSync(dirname(file)) ? 'not writable' : 'its directory does not exist'} (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
    }
  })();
  if (why) throw InputError.at({ file: '--json' }, `cannot write the report to ${file}: ${why}`);
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
  // Whole or not at all: a reader (CI, a script polling for it) never sees half a report.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(redactor.deep(report), null, 2)}\n`);
  renameSync(temp, file);
}
