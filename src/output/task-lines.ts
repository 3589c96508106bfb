import type { TaskResult } from '../engine/events.ts';
import { renderChange } from './diff.ts';
import type { Redactor } from './redact.ts';

const LABEL: Record<TaskResult['status'], string> = {
  ok: 'ok',
  changed: 'changed',
  skipped: 'skipped',
  failed: 'FAILED',
  unreachable: 'UNREACHABLE',
  interrupted: 'INTERRUPTED',
};

/** How a task result reads in any output: a headline, then details indented beneath it. */
export function taskHeadline(r: TaskResult, opts: { verbose: boolean; check: boolean }): string {
  const name = r.handler ? `${r.task} (handler)` : r.task;
  const time = opts.verbose ? ` (${r.durationMs} ms)` : '';
  // In check mode nothing changed: say what would have.
  const status = opts.check && r.status === 'changed' ? (r.handler ? 'would run' : 'would change') : LABEL[r.status];
  const message = r.message ? `: ${r.message}` : '';
  return `[${r.host}] ${r.role} | ${name}: ${status}${message}${time}`;
}

/** Diffs (with --diff) and failure details beneath a task's headline. */
export function taskDetails(r: TaskResult, showDiff: boolean, redactor: Redactor): string[] {
  const out: string[] = [];
  if (showDiff) for (const c of r.changes) out.push(...renderChange(redactor.change(c)).split('\n'));
  if (r.detail) out.push(...r.detail.split('\n'));
  return out.map((l) => `    ${l}`);
}
