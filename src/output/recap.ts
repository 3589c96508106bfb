import type { RunSummary } from '../engine/events.ts';

/** One line per host, padded into columns, as ansible-playbook's PLAY RECAP. */
export function recapLines(summary: RunSummary): string[] {
  const width = Math.max(4, ...[...summary.recap.keys()].map((h) => h.length));
  const lines = [...summary.recap].map(([host, r]) => {
    const cut = r.interrupted > 0 ? ` interrupted=${r.interrupted}` : '';
    return `${host.padEnd(width)}  ok=${r.ok} changed=${r.changed} unreachable=${r.unreachable} failed=${r.failed} skipped=${r.skipped}${cut}`;
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
