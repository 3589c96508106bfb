import { renameSync, writeFileSync } from 'node:fs';
import type { RunSummary } from '../engine/events.ts';
import type { Redactor } from './redact.ts';

export interface JsonReportInfo {
  playbook: string;
  inventory: string;
  exitCode: number;
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
