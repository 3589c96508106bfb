import { describe, expect, it, vi } from 'vitest';
import type { RunSummary, TaskResult } from '../../src/engine/events.ts';
import { wantsColour } from '../../src/output/colour.ts';
import { ListrReporter } from '../../src/output/listr.ts';
import { PlainReporter } from '../../src/output/plain.ts';
import { Redactor } from '../../src/output/redact.ts';

const result = (host: string, status: TaskResult['status'], play = 'p1'): TaskResult => ({
  play,
  host,
  role: 'firewall',
  task: 'firewall ruleset',
  handler: false,
  status,
  changes: [],
  message: status === 'unreachable' ? 'connection refused' : undefined,
  durationMs: 1,
});

const summary = (
  recap: Record<string, Partial<RunSummary['recap'] extends Map<string, infer R> ? R : never>>,
): RunSummary => ({
  results: [],
  recap: new Map(
    Object.entries(recap).map(([h, r]) => [
      h,
      { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, interrupted: 0, ...r },
    ]),
  ),
  durationMs: 1000,
  interrupted: false,
  cut: false,
  check: false,
});

describe('colour', () => {
  it('on a terminal unless NO_COLOR; in a pipe only with FORCE_COLOR', () => {
    expect(wantsColour({ isTTY: true }, {})).toBe(true);
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(wantsColour({ isTTY: false }, {})).toBe(false);
    expect(wantsColour({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColour({ isTTY: false }, { FORCE_COLOR: '0' })).toBe(false);
  });

  it('colours statuses, diffs and the recap when asked, and writes plain text otherwise', () => {
    for (const colour of [true, false]) {
      const lines: string[] = [];
      const r = new PlainReporter({
        diff: true,
        verbose: false,
        check: false,
        colour,
        redactor: new Redactor([]),
        write: (l) => lines.push(l),
      });
      r.event({
        type: 'task',
        result: {
          ...result('w1', 'changed'),
          changes: [{ type: 'content', path: '/etc/x', before: 'a\n', after: 'b\n' }],
        },
      });
      r.event({ type: 'task', result: result('w2', 'unreachable') });
      r.finish(summary({ w1: { changed: 1 }, w2: { unreachable: 1 } }));
      const text = lines.join('\n');
      if (colour) {
        expect(text).toContain('[w1] firewall | firewall ruleset: \x1b[33mchanged\x1b[0m');
        expect(text).toContain('\x1b[31mUNREACHABLE\x1b[0m');
        expect(text).toContain('\x1b[32m+b\x1b[0m');
        expect(text).toContain('\x1b[31m-a\x1b[0m');
        expect(text).toContain('\x1b[31mw2  \x1b[0m  ok=0 changed=0 \x1b[31munreachable=1\x1b[0m');
      } else expect(text).not.toContain('\x1b[');
    }
  });
});

describe('the terminal view', () => {
  it('shows a host unreachable in an earlier play as such in every later play, not as ok', async () => {
    let shown = '';
    // Off a terminal listr2 falls back to its simple renderer, which writes failures to stderr.
    const capture = (chunk: string | Uint8Array): boolean => {
      shown += String(chunk);
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    try {
      const r = new ListrReporter({
        diff: false,
        verbose: false,
        check: false,
        redactor: new Redactor([]),
        write: (l) => (shown += `${l}\n`),
      });
      r.event({ type: 'play', name: 'p1', hosts: ['w1', 'w2'], check: false });
      r.event({ type: 'task', result: result('w1', 'ok') });
      r.event({ type: 'task', result: result('w2', 'unreachable') });
      r.event({ type: 'play', name: 'p2', hosts: ['w1', 'w2'], check: false });
      r.event({ type: 'task', result: result('w1', 'ok', 'p2') });
      await r.finish(summary({ w1: { ok: 2 }, w2: { unreachable: 1 } }));
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
    const second = shown.slice(shown.indexOf('PLAY [p2]'));
    expect(second).toMatch(/w2 {2}ok=0 changed=0 {2}unreachable in an earlier play: not run/);
    expect(second).not.toMatch(/✔ w2/);
  });
});
