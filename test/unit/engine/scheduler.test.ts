import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isReading, type Exec, type FakeHosts } from './fake-hosts.ts';
import { runFixture } from './run-fixture.ts';

/** The command that made a task's mark on a host (`touch NAME`). */
const marked = (hosts: FakeHosts, host: string, mark: string): Exec => {
  const found = hosts.changesOn(host).find((e) => new RegExp(`touch ${mark}$`).test(e.command));
  if (!found)
    throw new Error(`${host} never made ${mark}: ${JSON.stringify(hosts.changesOn(host).map((e) => e.command))}`);
  return found;
};

/** The most commands that ran at the same time (readings left out). */
function mostAtOnce(execs: Exec[]): number {
  const edges = execs
    .filter((e) => !isReading(e.command))
    .flatMap((e) => [
      { t: e.start, d: 1 },
      { t: e.end, d: -1 },
    ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (now += e.d));
  return most;
}

const has = (hosts: FakeHosts, host: string, file: string): boolean => existsSync(join(hosts.dir(host), file));

describe('the engine on fake hosts: order', () => {
  it('every host finishes a role before any host starts the next; hosts run side by side up to forks', async () => {
    const { hosts, summary } = await runFixture('order.yaml');
    const all = ['cp1', 'w1', 'w2', 'w3'];
    const lastOfRecord = Math.max(...all.map((h) => marked(hosts, h, 'two').end));
    const firstOfAfter = Math.min(...all.map((h) => marked(hosts, h, 'three').start));
    expect(firstOfAfter).toBeGreaterThanOrEqual(lastOfRecord);
    for (const h of all) expect(marked(hosts, h, 'one').end).toBeLessThanOrEqual(marked(hosts, h, 'two').start);
    expect(mostAtOnce(hosts.execs)).toBe(4);
    expect([...summary.recap.values()].every((r) => r.changed === 3 && r.failed === 0)).toBe(true);
  });

  it('forks 1: one host at a time', async () => {
    const { hosts } = await runFixture('order.yaml', { forks: 1 });
    expect(mostAtOnce(hosts.execs)).toBe(1);
  });

  it('serial [1, 2]: the first batch runs every role before the second batch starts', async () => {
    const { hosts, events } = await runFixture('serial.yaml');
    expect(marked(hosts, 'w2', 'one').start).toBeGreaterThanOrEqual(marked(hosts, 'w1', 'three').end);
    expect(marked(hosts, 'w3', 'one').start).toBeGreaterThanOrEqual(marked(hosts, 'w1', 'three').end);
    const roleHosts = events.flatMap((e) => (e.type === 'role' ? [`${e.role}: ${e.hosts.join(',')}`] : []));
    expect(roleHosts).toEqual(['record: w1', 'after: w1', 'record: w2,w3', 'after: w2,w3']);
  });

  it('check mode runs no change, reports what would change; the real run then makes exactly those; a rerun changes nothing in one reading per host', async () => {
    const check = await runFixture('order.yaml', { check: true });
    expect(check.hosts.execs.filter((e) => !isReading(e.command))).toEqual([]);
    const wouldChange = check.summary.results.filter((r) => r.status === 'changed').map((r) => `${r.host} ${r.task}`);
    expect(wouldChange).toHaveLength(12);

    const real = await runFixture('order.yaml', { hosts: check.hosts });
    expect(
      real.summary.results
        .filter((r) => r.status === 'changed')
        .map((r) => `${r.host} ${r.task}`)
        .sort(),
    ).toEqual(wouldChange.sort());

    const before = real.hosts.execs.length;
    const rerun = await runFixture('order.yaml', { hosts: real.hosts });
    expect(rerun.summary.results.every((r) => r.status === 'ok')).toBe(true);
    const rerunExecs = rerun.hosts.execs.slice(before);
    // Prefetch: every reading of every role and play in one round trip per host.
    expect(rerunExecs.map((e) => e.host).sort()).toEqual(['cp1', 'w1', 'w2', 'w3']);
    expect(rerunExecs.every((e) => isReading(e.command))).toBe(true);
  });
});

describe('the engine on fake hosts: failures', () => {
  it('a failing host stops its own tasks; the others finish every role', async () => {
    const { lines, summary, hosts } = await runFixture('failing.yaml');
    expect(lines).toContain('w2 two failed');
    expect(lines.filter((l) => l.startsWith('w2 '))).toEqual(['w2 one changed', 'w2 two failed']);
    expect(has(hosts, 'w1', 'three') && has(hosts, 'w3', 'three')).toBe(true);
    const failed = summary.results.find((r) => r.status === 'failed');
    expect(failed?.message).toMatch(/command failed \(exit 3\)/);
    expect(failed?.detail).toBe('broken');
    expect(summary.recap.get('w2')).toMatchObject({ changed: 1, failed: 1 });
  });

  it("a host lacking what a role needs fails before anything runs on it, in the run's first role; checked once per host", async () => {
    const { lines, summary, hosts } = await runFixture('prerequisites.yaml');
    expect(lines.filter((l) => l.startsWith('w2 '))).toEqual(['w2 host prerequisites failed']);
    const failed = summary.results.find((r) => r.host === 'w2');
    expect(failed).toMatchObject({
      role: 'record',
      message: "missing play-no-such-program on the PATH the roles' commands run with",
    });
    expect(hosts.changesOn('w2').filter((e) => !e.command.includes('os-release'))).toEqual([]);
    expect(has(hosts, 'w1', 'needs') && has(hosts, 'w3', 'needs')).toBe(true);
    for (const h of ['cp1', 'w1', 'w2', 'w3'])
      expect(hosts.execs.filter((e) => e.host === h && e.command.includes('os-release'))).toHaveLength(1);
  });

  it('any_errors_fatal: one failure ends the play for every host; tasks running finish, none starts', async () => {
    const { lines, hosts } = await runFixture('fatal.yaml');
    expect(lines).toContain('w1 one failed');
    // w2 and w3 were in "one" when w1 failed: they finish it and start nothing more.
    for (const h of ['w2', 'w3'])
      expect([has(hosts, h, 'one'), has(hosts, h, 'two'), has(hosts, h, 'three')]).toEqual([true, false, false]);
  });

  it('max_fail_percentage 30: one host of three failing (33 %) aborts the play', async () => {
    const { hosts, lines } = await runFixture('max-fail.yaml');
    expect(lines).toContain('w2 two failed');
    expect(lines.some((l) => l.includes('three'))).toBe(false);
    expect(has(hosts, 'w1', 'two')).toBe(true);
  });

  it('an unreachable host is reported so and takes no further part; the others finish', async () => {
    const { lines, summary } = await runFixture('order.yaml', { unreachable: ['w3'] });
    expect(lines.filter((l) => l.startsWith('w3 '))).toEqual(['w3 one unreachable']);
    expect(summary.recap.get('w3')).toMatchObject({ unreachable: 1, changed: 0 });
    expect(summary.recap.get('w1')).toMatchObject({ changed: 3 });
  });

  it('a stop (Ctrl-C) launches no new task: what runs finishes, the summary says interrupted', async () => {
    const stopAfterFirst = (events: { type: string }[]): boolean => events.some((e) => e.type === 'task');
    const { summary, events } = await runFixture('order.yaml', { interruptWhen: stopAfterFirst, forks: 1 });
    expect(summary.interrupted).toBe(true);
    expect(summary.results).toHaveLength(1);
    expect(events.filter((e) => e.type === 'task-start')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('interrupted');
  });
});

describe('the engine on fake hosts: handlers, turns, other hosts', () => {
  it('handlers run once per host at the flush point and at the end; one superseded by another in the same flush is skipped', async () => {
    const { hosts, lines } = await runFixture('handlers.yaml');
    for (const h of ['w1', 'w2', 'w3'])
      expect(readFileSync(join(hosts.dir(h), 'handlers.log'), 'utf8')).toBe('restart\nreload\n');
    expect(lines.filter((l) => l.startsWith('w1 '))).toEqual([
      'w1 change a changed',
      'w1 change b changed',
      'w1 reload skipped',
      'w1 restart changed',
      'w1 change c changed',
      'w1 reload changed',
    ]);
    const rerun = await runFixture('handlers.yaml', { hosts });
    expect(rerun.lines.filter((l) => l.includes('restart') || l.includes('reload'))).toEqual([]);
  });

  it('rolling: a host takes its turn only once every host before it has passed; tasks outside the turn run side by side', async () => {
    const { hosts } = await runFixture('rolling.yaml');
    const turns = ['w1', 'w2', 'w3'].map((h) => ({
      from: marked(hosts, h, 'drained').start,
      to: marked(hosts, h, 'restarted').end,
    }));
    expect(turns[1]!.from).toBeGreaterThanOrEqual(turns[0]!.to);
    expect(turns[2]!.from).toBeGreaterThanOrEqual(turns[1]!.to);
    // w1's "after the turn" overlaps w2's turn.
    expect(marked(hosts, 'w1', 'done').start).toBeLessThan(turns[1]!.to);
  });

  it("delegate_to runs the task on the other host, judged by that host's state", async () => {
    const { hosts, lines } = await runFixture('delegated.yaml');
    for (const h of ['w1', 'w2', 'w3']) {
      expect(has(hosts, 'cp1', `asked-by-${h}`)).toBe(true);
      expect(hosts.changesOn(h)).toEqual([]);
    }
    expect(lines.every((l) => l.endsWith('changed'))).toBe(true);
    const rerun = await runFixture('delegated.yaml', { hosts });
    expect(rerun.lines.every((l) => l.endsWith(' ok'))).toBe(true);
  });

  it('a value read from another host is read once for the whole run, and a secret one is masked from then on', async () => {
    const seed = (h: FakeHosts): void => writeFileSync(join(h.dir('cp1'), 'token'), 'K10-secret-token\n');
    const { hosts, learned } = await runFixture('joined.yaml', { seed });
    for (const h of ['w1', 'w2', 'w3'])
      expect(readFileSync(join(hosts.dir(h), 'join.conf'), 'utf8')).toBe('token: K10-secret-token\n');
    expect(hosts.execs.filter((e) => e.host === 'cp1' && e.command === 'cat token')).toHaveLength(1);
    expect(learned).toContain('K10-secret-token');
  });

  it('check mode before the other host is set up shows the value as not yet known, and changes nothing', async () => {
    const { hosts, summary } = await runFixture('joined.yaml', { check: true });
    expect(summary.results.map((r) => r.status)).toEqual(['changed', 'changed', 'changed']);
    const change = summary.results[0]?.changes[0];
    expect(change?.type === 'content' && change.after).toContain('<not yet known: output of `cat token` on cp1>');
    expect(hosts.changesOn('w1')).toEqual([]);
  });
});
