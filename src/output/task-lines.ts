import type { TaskResult } from '../engine/events.ts';
import { paint, type Colour } from './colour.ts';
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

const HUE: Record<TaskResult['status'], Colour> = {
  ok: 'green',
  changed: 'yellow',
  skipped: 'cyan',
  failed: 'red',
  unreachable: 'red',
  interrupted: 'red',
};

/** How a task result reads in any output: a headline, then details indented beneath it. */
export function taskHeadline(r: TaskResult, opts: { verbose: boolean; check: boolean; colour?: boolean }): string {
  const name = r.handler ? `${r.task} (handler)` : r.task;
  const time = opts.verbose ? ` (${r.durationMs} ms)` : '';
  // In check mode nothing changed: say what would have.
  const label = opts.check && r.status === 'changed' ? (r.handler ? 'would run' : 'would change') : LABEL[r.status];
  const status = paint(opts.colour === true, HUE[r.status], label);
  const message = r.message ? `: ${r.message}` : '';
  return `[${r.host}] ${r.role} | ${name}: ${status}${message}${time}`;
}

/** Diffs (with --diff) and failure details beneath a task's headline. */
export function taskDetails(r: TaskResult, showDiff: boolean, redactor: Redactor, colour = false): string[] {
  const out: string[] = [];
  const line = (l: string): string =>
    l.startsWith('+') && !l.startsWith('+++')
      ? paint(colour, 'green', l)
      : l.startsWith('-') && !l.startsWith('---')
        ? paint(colour, 'red', l)
        : l.startsWith('@@')
          ? paint(colour, 'cyan', l)
          : l;
  if (showDiff) for (const c of r.changes) out.push(...renderChange(redactor.change(c)).split('\n').map(line));
  if (r.detail) out.push(...r.detail.split('\n'));
  return out.map((l) => `    ${l}`);
}
