import type { RunSummary } from '../engine/events.ts';

/** One line per host, padded into columns, as ansible-playbook's PLAY RECAP. */
export function recapLines(summary: RunSummary): string[] {
  const width = Math.max(4, ...[...summary.recap.keys()].map((h) => h.length));
  const lines = [...summary.recap].map(
    ([host, r]) => `${host.padEnd(width)}  ok=${r.ok} changed=${r.changed} unreachable=${r.unreachable} failed=${r.failed} skipped=${r.skipped}`,
  );
  const mode = summary.check ? ' (check mode: nothing was changed)' : '';
  const stopped = summary.interrupted ? ' — interrupted' : '';
  return [`RECAP${mode}`, ...lines, `total ${(summary.durationMs / 1000).toFixed(2)} s${stopped}`];
}
