import type { RunSummary } from '../engine/events.ts';
import { paint, type Colour } from './colour.ts';

/** One line per host, padded into columns, as ansible-playbook's PLAY RECAP (coloured as its is). */
export function recapLines(summary: RunSummary, colour = false): string[] {
  const width = Math.max(4, ...[...summary.recap.keys()].map((h) => h.length));
  const count = (name: string, n: number, hue: Colour): string => paint(colour && n > 0, hue, `${name}=${n}`);
  const lines = [...summary.recap].map(([host, r]) => {
    const cut = r.interrupted > 0 ? ` ${count('interrupted', r.interrupted, 'red')}` : '';
    const hue: Colour = r.failed + r.unreachable + r.interrupted > 0 ? 'red' : r.changed > 0 ? 'yellow' : 'green';
    return `${paint(colour, hue, host.padEnd(width))}  ${count('ok', r.ok, 'green')} ${count('changed', r.changed, 'yellow')} ${count('unreachable', r.unreachable, 'red')} ${count('failed', r.failed, 'red')} ${count('skipped', r.skipped, 'cyan')}${cut}`;
  });
  const mode = summary.check ? ' (check mode: nothing was changed)' : '';
  const stopped = summary.interrupted ? ' — interrupted' : '';
  return [`RECAP${mode}`, ...lines, `total ${(summary.durationMs / 1000).toFixed(2)} s wall time${stopped}`];
}

/** What an interrupted run did with the tasks that were running when it was told to stop. */
export function interruptedLine(summary: RunSummary): string {
  return summary.cut
    ? 'INTERRUPTED: no new task was started; tasks still running were cut (reported as interrupted).'
    : 'INTERRUPTED: no new task was started; tasks already running finished.';
}
