import type { Facts } from '../role/definition.ts';
import { ResourceError, type Plan, type ProbeResult } from '../resources/types.ts';
import { CommandTimeoutError, UnreachableError, type Remote } from '../transport/remote.ts';
import type { PlannedTask } from './compile.ts';
import type { RunEvent, TaskResult, TaskStatus } from './events.ts';
import { probeAll } from './probe-batch.ts';

/** How one host's run of one role ended. */
export type HostOutcome = 'done' | 'failed' | 'unreachable' | 'stopped';

export interface RoleRunContext {
  play: string;
  role: string;
  host: string;
  tasks: PlannedTask[];
  handlers: Map<string, PlannedTask>;
  check: boolean;
  remote: () => Promise<Remote>;
  facts: () => Promise<Facts>;
  emit: (e: RunEvent) => void;
  /** Checked before each task: Ctrl-C, or another host failed under any_errors_fatal. */
  stop: () => boolean;
}

class Stopped extends Error {}

/**
 * Runs a role's tasks on one host in order. All of the role's resources are read in one round
 * trip; after a task changes something the remaining ones are read again (one more round trip),
 * since an earlier change may change what later tasks see.
 */
export async function runRoleOnHost(ctx: RoleRunContext): Promise<HostOutcome> {
  const notified = new Set<string>();
  let remote: Remote;
  try {
    remote = await ctx.remote();
  } catch (e) {
    report(ctx, ctx.tasks[0]?.name ?? '(connect)', false, 'unreachable', [], Date.now(), e);
    return 'unreachable';
  }
  try {
    for (const segment of segments(ctx.tasks)) {
      await runSegment(ctx, remote, segment, false, notified);
      await runHandlers(ctx, remote, notified);
    }
    return 'done';
  } catch (e) {
    if (e instanceof Stopped) return 'stopped';
    return e instanceof UnreachableError ? 'unreachable' : 'failed';
  }
}

async function runHandlers(ctx: RoleRunContext, remote: Remote, notified: Set<string>): Promise<void> {
  const due = [...ctx.handlers.values()].filter((h) => notified.has(h.name));
  notified.clear();
  if (due.length > 0) await runSegment(ctx, remote, due, true, notified);
}

async function runSegment(ctx: RoleRunContext, remote: Remote, tasks: PlannedTask[], handler: boolean, notified: Set<string>): Promise<void> {
  const active: PlannedTask[] = [];
  for (const task of tasks) {
    let wanted: boolean;
    try {
      wanted = await isWanted(ctx, task);
    } catch (e) {
      report(ctx, task.name, handler, e instanceof UnreachableError ? 'unreachable' : 'failed', [], Date.now(), e);
      throw e;
    }
    if (wanted) active.push(task);
    else report(ctx, task.name, handler, 'skipped', [], Date.now(), undefined, 'condition false');
  }
  let states: (ProbeResult | undefined)[] = [];
  let stale = true;
  for (const [i, task] of active.entries()) {
    if (ctx.stop()) throw new Stopped();
    ctx.emit({ type: 'task-start', host: ctx.host, role: ctx.role, task: task.name });
    const started = Date.now();
    try {
      if (stale) {
        states = [...active.slice(0, i).map(() => undefined), ...(await probeAll(remote, active.slice(i).map((t) => t.resource?.probe)))];
        stale = false;
      }
      const plan = task.resource?.plan(states[i]) ?? { changes: [] };
      const { status, note, changedHost } = await execute(plan, remote, ctx.check);
      stale ||= changedHost;
      if (status === 'changed') task.notify.forEach((n) => notified.add(n));
      report(ctx, task.name, handler, status, plan.changes, started, undefined, note);
    } catch (e) {
      const status: TaskStatus = e instanceof UnreachableError ? 'unreachable' : 'failed';
      report(ctx, task.name, handler, status, [], started, e);
      throw e;
    }
  }
}

async function execute(plan: Plan, remote: Remote, check: boolean): Promise<{ status: TaskStatus; note?: string; changedHost: boolean }> {
  if (plan.inspect) await plan.inspect(remote);
  if (plan.settle) {
    if (check) return { status: 'skipped', note: 'check mode: would wait', changedHost: false };
    await plan.settle(remote);
  }
  if (plan.changes.length === 0) return { status: 'ok', changedHost: false };
  if (check) return { status: 'changed', changedHost: false };
  const outcome = await plan.apply?.(remote);
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

function report(ctx: RoleRunContext, task: string, handler: boolean, status: TaskStatus, changes: TaskResult['changes'], started: number, error?: unknown, note?: string): void {
  const result: TaskResult = { play: ctx.play, host: ctx.host, role: ctx.role, task, handler, status, changes, durationMs: Date.now() - started };
  if (note) result.message = note;
  if (error !== undefined) {
    result.message = error instanceof Error ? error.message : String(error);
    if (error instanceof ResourceError && error.detail) result.detail = error.detail;
    if (!(error instanceof ResourceError || error instanceof UnreachableError || error instanceof CommandTimeoutError) && error instanceof Error && error.stack) {
      result.detail = error.stack;
    }
  }
  ctx.emit({ type: 'task', result });
}
