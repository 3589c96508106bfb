import type { Change } from '../resources/types.ts';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** One task on one host: the unit of output, of the recap and of `--json`. */
export interface TaskResult {
  play: string;
  host: string;
  role: string;
  task: string;
  /** Handlers are tasks too, run only when notified. */
  handler: boolean;
  status: TaskStatus;
  /** In check mode: what would change. */
  changes: Change[];
  message?: string;
  detail?: string;
  durationMs: number;
}

export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
}

export type RunEvent =
  | { type: 'play'; name: string; hosts: string[]; check: boolean }
  | { type: 'role'; play: string; role: string; hosts: string[] }
  | { type: 'task-start'; host: string; role: string; task: string }
  | { type: 'task'; result: TaskResult }
  | { type: 'verbose'; host: string; message: string }
  | { type: 'warning'; message: string }
  | { type: 'interrupted' };

export interface RunSummary {
  results: TaskResult[];
  recap: Map<string, HostRecap>;
  durationMs: number;
  interrupted: boolean;
  check: boolean;
}

/** Receives events as they happen, then the summary once. */
export interface Reporter {
  event(e: RunEvent): void;
  finish(summary: RunSummary): Promise<void> | void;
}

export function emptyRecap(): HostRecap {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0 };
}
