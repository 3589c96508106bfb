import type { Facts } from '../role/definition.ts';
import { ResourceError, type Plan, type Probe, type ProbeResult, type Runtime } from '../resources/types.ts';
import { CommandTimeoutError, InterruptedError, UnreachableError, type Remote } from '../transport/remote.ts';
import type { PlannedTask } from './compile.ts';
import type { RunEvent, TaskResult, TaskStatus } from './events.ts';
import type { Prefetch } from './prefetch.ts';
import { probeAll } from './probe-batch.ts';
import { probeKey } from '../resources/probe.ts';
import type { Turns } from './turns.ts';

/** How one host's run of one role ended. */
export type HostOutcome = 'done' | 'failed' | 'unreachable' | 'stopped';

export interface RoleRunContext {
  play: string;
  playIndex: number;
  /** What the run read as it started; serves until anything changes. */
  prefetch: Prefetch;
  role: string;
  host: string;
  tasks: PlannedTask[];
  handlers: Map<string, PlannedTask>;
  remote: () => Promise<Remote>;
  /** Another host's connection, for delegated tasks. */
  remoteOf: (host: string) => Promise<Remote>;
  runtime: Runtime;
  turns: Turns;
  facts: () => Promise<Facts>;
  emit: (e: RunEvent) => void;
  /** Checked before each task: Ctrl-C, or another host failed under any_errors_fatal. */
  stop: () => boolean;
  /** Check mode: a host's readings as the changes so far would leave them (by probe key). */
  predicted: (host: string) => Map<string, string>;
  /** What the host lacks of what the run's roles need (once per host and run), if anything. */
  prerequisites: (remote: Remote) => Promise<string | undefined>;
}

class Stopped extends Error {}

/** The task a host's missing prerequisites are reported as. */
const PREREQUISITES = 'host prerequisites';

/**
 * Runs a role's tasks on one host in order. All of the role's resources are read in one round
 * trip; after a task changes something the remaining ones are read again (one more round trip),
 * since an earlier change may change what later tasks see.
 */
export async function runRoleOnHost(ctx: RoleRunContext): Promise<HostOutcome> {
  const notified = new Set<string>();
  const turn: Turn = {};
  let remote: Remote;
  try {
    remote = await ctx.remote();
  } catch (e) {
    const status = e instanceof InterruptedError ? 'interrupted' : 'unreachable';
    report(ctx, { task: ctx.tasks[0]?.name ?? '(connect)', handler: false, status, started: Date.now(), error: e });
    return status === 'interrupted' ? 'stopped' : 'unreachable';
  }
  try {
    const started = Date.now();
    const lacking = await ctx.prerequisites(remote).catch((e: unknown) => {
      report(ctx, { task: PREREQUISITES, handler: false, status: failureStatus(e, ctx.host), started, error: e });
      throw e;
    });
    if (lacking !== undefined) {
      report(ctx, {
        task: PREREQUISITES,
        handler: false,
        status: 'failed',
        started,
        error: new ResourceError(lacking),
      });
      return 'failed';
    }
    for (const segment of segments(ctx.tasks)) {
      await runSegment(ctx, remote, segment, false, notified, turn);
      await runHandlers(ctx, remote, notified, turn);
    }
    return 'done';
  } catch (e) {
    if (e instanceof Stopped || e instanceof InterruptedError) return 'stopped';
    return e instanceof UnreachableError && e.host === ctx.host ? 'unreachable' : 'failed';
  } finally {
    ctx.turns.leave(ctx.host);
  }
}

/** The rolling key whose turn this host holds, if any. */
interface Turn {
  held?: string;
}

async function runHandlers(ctx: RoleRunContext, remote: Remote, notified: Set<string>, turn: Turn): Promise<void> {
  const due = [...ctx.handlers.values()].filter((h) => notified.has(h.name));
  const superseded = due.filter((h) => h.supersededBy !== undefined && notified.has(h.supersededBy));
  notified.clear();
  for (const h of superseded)
    report(ctx, {
      task: h.name,
      handler: true,
      status: 'skipped',
      started: Date.now(),
      note: `not needed: ${h.supersededBy} runs too`,
    });
  const run = due.filter((h) => !superseded.includes(h));
  if (run.length > 0) await runSegment(ctx, remote, run, true, notified, turn);
}

/** Takes the turn a task needs, giving back the one held if it is another. */
async function takeTurn(ctx: RoleRunContext, turn: Turn, key: string | undefined): Promise<void> {
  if (turn.held === key) return;
  if (turn.held !== undefined) ctx.turns.done(turn.held, ctx.host);
  turn.held = undefined;
  if (key === undefined) return;
  await ctx.turns.wait(key, ctx.host);
  turn.held = key;
}

async function runSegment(
  ctx: RoleRunContext,
  remote: Remote,
  tasks: PlannedTask[],
  handler: boolean,
  notified: Set<string>,
  turn: Turn,
): Promise<void> {
  const active: PlannedTask[] = [];
  for (const task of tasks) {
    let wanted: boolean;
    try {
      wanted = await isWanted(ctx, task);
    } catch (e) {
      report(ctx, { task: task.name, handler, status: failureStatus(e, ctx.host), started: Date.now(), error: e });
      throw e;
    }
    if (wanted) active.push(task);
    else report(ctx, { task: task.name, handler, status: 'skipped', started: Date.now(), note: 'condition false' });
  }
  let states: (ProbeResult | undefined)[] = [];
  let stale = true;
  // Delegated tasks read and act on another host: they are probed on their own, not in the batch.
  const batched = (t: PlannedTask): Probe | undefined => (t.delegateTo ? undefined : t.resource?.probe);
  for (const [i, task] of active.entries()) {
    if (ctx.stop()) throw new Stopped();
    await takeTurn(ctx, turn, task.rolling);
    ctx.emit({ type: 'task-start', host: ctx.host, role: ctx.role, task: task.name });
    const started = Date.now();
    try {
      await task.resource?.prepare?.(ctx.runtime);
      if (stale) {
        states = [
          ...active.slice(0, i).map(() => undefined),
          ...(await read(ctx, remote, ctx.host, active.slice(i).map(batched))),
        ];
        stale = false;
      }
      const on = task.delegateTo ?? ctx.host;
      const target = task.delegateTo ? await ctx.remoteOf(task.delegateTo) : remote;
      const state = asPredicted(
        ctx,
        on,
        task.resource?.probe,
        task.delegateTo ? (await read(ctx, target, on, [task.resource?.probe]))[0] : states[i],
      );
      const plan = task.resource?.plan(state) ?? { changes: [] };
      if (ctx.runtime.check && plan.changes.length > 0)
        for (const p of plan.predicts?.() ?? []) ctx.predicted(on).set(probeKey(p.probe), p.stdout);
      // Before applying, not after: an apply that fails half-way has changed the host too.
      if (!ctx.runtime.check && plan.changes.length > 0) ctx.prefetch.invalidate();
      const { status, note, changedHost } = await execute(plan, target, ctx.runtime);
      stale ||= changedHost;
      if (status === 'changed') task.notify.forEach((n) => notified.add(n));
      report(ctx, { task: task.name, handler, status, changes: plan.changes, started, note });
    } catch (e) {
      report(ctx, { task: task.name, handler, status: failureStatus(e, ctx.host), started, error: e });
      throw e;
    }
  }
}

/** How a task that threw ended: cut by a stop, its host lost, or failed. */
function failureStatus(e: unknown, host: string): TaskStatus {
  if (e instanceof InterruptedError) return 'interrupted';
  return e instanceof UnreachableError && e.host === host ? 'unreachable' : 'failed';
}

/**
 * In check mode nothing changes, so a reading taken now shows the host without the changes earlier
 * tasks would make; where one of them predicted this reading, the prediction stands in for it.
 */
function asPredicted(
  ctx: RoleRunContext,
  host: string,
  probe: Probe | undefined,
  state: ProbeResult | undefined,
): ProbeResult | undefined {
  const predicted = ctx.runtime.check && probe !== undefined ? ctx.predicted(host).get(probeKey(probe)) : undefined;
  return predicted === undefined ? state : { stdout: predicted, exitCode: 0 };
}

/** The prefetched readings while they hold, else one round trip for all of them. */
async function read(
  ctx: RoleRunContext,
  remote: Remote,
  host: string,
  probes: (Probe | undefined)[],
): Promise<(ProbeResult | undefined)[]> {
  const pre = await Promise.all(
    probes.map((p) => (p === undefined ? undefined : ctx.prefetch.get(host, ctx.playIndex, p))),
  );
  if (probes.every((p, i) => p === undefined || pre[i] !== undefined)) return pre;
  return probeAll(remote, probes);
}

async function execute(
  plan: Plan,
  remote: Remote,
  runtime: Runtime,
): Promise<{ status: TaskStatus; note?: string; changedHost: boolean }> {
  const seen = plan.inspect ? ((await plan.inspect(remote)) ?? undefined) : plan.report;
  if (plan.settle) {
    if (runtime.check) return { status: 'skipped', note: 'check mode: would wait', changedHost: false };
    await plan.settle(remote);
  }
  if (plan.changes.length === 0) return { status: 'ok', note: seen, changedHost: false };
  if (runtime.check) return { status: 'changed', changedHost: false };
  const outcome = await plan.apply?.(remote, runtime);
  return { status: outcome && !outcome.changed ? 'ok' : 'changed', changedHost: true };
}

async function isWanted(ctx: RoleRunContext, task: PlannedTask): Promise<boolean> {
  return typeof task.when === 'function' ? task.when(await ctx.facts()) : task.when;
}

/** Tasks between handler flush points. */
function segments(tasks: PlannedTask[]): PlannedTask[][] {
  const out: PlannedTask[][] = [[]];
  for (const t of tasks) {
    if (t.resource) out[out.length - 1]?.push(t);
    else out.push([]);
  }
  return out;
}

interface Outcome {
  task: string;
  handler: boolean;
  status: TaskStatus;
  changes?: TaskResult['changes'];
  started: number;
  error?: unknown;
  note?: string;
}

function report(ctx: RoleRunContext, o: Outcome): void {
  const result: TaskResult = {
    play: ctx.play,
    host: ctx.host,
    role: ctx.role,
    task: o.task,
    handler: o.handler,
    status: o.status,
    changes: o.changes ?? [],
    durationMs: Date.now() - o.started,
  };
  if (o.note) result.message = o.note;
  if (o.error !== undefined) Object.assign(result, describeError(o.error));
  ctx.emit({ type: 'task', result });
}

/** Errors the user can act on carry their own detail; anything else is a bug: keep its stack. */
function describeError(error: unknown): { message: string; detail?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  if (error instanceof ResourceError) return { message: error.message, detail: error.detail };
  if (error instanceof UnreachableError || error instanceof CommandTimeoutError || error instanceof InterruptedError)
    return { message: error.message };
  return { message: error.message, detail: error.stack };
}
