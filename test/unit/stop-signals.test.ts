import { afterEach, describe, expect, it, vi } from 'vitest';
import { StopSignals } from '../../src/cli/stop-signals.ts';

function recorder(graceMs = 10_000) {
  const seen: string[] = [];
  const stops = new StopSignals(graceMs, 99, {
    stopping: (m) => seen.push(`stopping: ${m}`),
    cut: (m) => seen.push(`cut: ${m}`),
    exit: (code) => seen.push(`exit ${code}`),
  });
  return { seen, stops };
}

describe('stopping on signals', () => {
  afterEach(() => void vi.useRealTimers());

  it('the first signal stops launching work; the grace over, what runs is cut; later, play exits regardless', () => {
    vi.useFakeTimers();
    const { seen, stops } = recorder(2000);
    stops.received('SIGTERM');
    expect(stops.stopping).toBe(true);
    expect(stops.cut).toBe(false);
    expect(seen).toEqual([
      'stopping: SIGTERM: stopping: no new task starts; tasks in flight get 2 s to finish, then are cut (a second signal cuts them now)',
    ]);
    vi.advanceTimersByTime(1999);
    expect(stops.cut).toBe(false);
    vi.advanceTimersByTime(1);
    expect(stops.cut).toBe(true);
    expect(seen[1]).toBe('cut: grace of 2 s over: cutting the tasks still running');
    vi.advanceTimersByTime(5000);
    expect(seen[2]).toBe('exit 99');
  });

  it('one Ctrl-C relayed several times at once is one request; a second one a moment later cuts at once', () => {
    vi.useFakeTimers();
    const { seen, stops } = recorder();
    stops.received('SIGINT', 1000);
    stops.received('SIGINT', 1010);
    stops.received('SIGTERM', 1500);
    expect(stops.cut).toBe(false);
    stops.received('SIGINT', 2200);
    expect(stops.cut).toBe(true);
    expect(seen).toEqual([
      'stopping: SIGINT: stopping: no new task starts; tasks in flight get 10 s to finish, then are cut (Ctrl-C again cuts them now)',
      'cut: second SIGINT: cutting the tasks still running',
    ]);
  });

  it('the end of the process that started play is a request to stop, never a second one', () => {
    const { seen, stops } = recorder();
    stops.received('parent gone', 0);
    stops.received('parent gone', 5000);
    expect(stops.cut).toBe(false);
    expect(seen).toEqual([
      'stopping: the process that started play ended: stopping: no new task starts; tasks in flight get 10 s to finish, then are cut (a second signal cuts them now)',
    ]);
    stops.uninstall();
  });
});
