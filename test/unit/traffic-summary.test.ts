import { describe, expect, it } from 'vitest';
import { summarize, type Request } from '../lab/traffic/traffic.ts';

// What the lab's client saw, counted: the figures of the failover tests rest on this.
describe('the request loop summary', () => {
  const at = (offset: number, ms: number, outcome: string): Request =>
    outcome.startsWith('!')
      ? { at: 1000 + offset, ms, error: outcome.slice(1) }
      : { at: 1000 + offset, ms, answer: outcome };

  it('counts answers by what came back, errors by kind, and the span from the first disturbed request to the end of the last', () => {
    const s = summarize([
      at(0, 3, 'pod-a'),
      at(20, 2, 'pod-b'),
      at(40, 1010, 'pod-b'),
      at(60, 10_000, '!timeout'),
      at(80, 2, '!ECONNRESET'),
      at(100, 4, 'pod-a'),
    ]);
    expect(s).toMatchObject({
      total: 6,
      ok: 4,
      failed: 2,
      answers: { 'pod-a': 2, 'pod-b': 2 },
      errors: { timeout: 1, ECONNRESET: 1 },
      disturbedMs: 60 + 10_000 - 40,
      slowestMs: 10_000,
    });
    expect(s.disturbed.map((r) => r.at - 1000)).toEqual([40, 60, 80]);
  });

  it("an undisturbed run has no span; the slow threshold is the caller's", () => {
    const list = [at(0, 3, 'pod-a'), at(20, 400, 'pod-a')];
    expect(summarize(list)).toMatchObject({ disturbed: [], disturbedMs: 0, failed: 0 });
    expect(summarize(list, 100).disturbed).toHaveLength(1);
  });
});
