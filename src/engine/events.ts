import type { Change } from '../resources/types.ts';

/** `interrupted`: the task was running when a stop (Ctrl-C, SIGTERM) cut it after the grace period. */
export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable' | 'interrupted';

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
  interrupted: number;
}

export type RunEvent =
  | { type: 'play'; name: string; hosts: string[]; check: boolean }
  | { type: 'role'; play: string; role: string; hosts: string[] }
  | { type: 'task-start'; host: string; role: string; task: string }
  | { type: 'task'; result: TaskResult }
  | { type: 'verbose'; host: string; message: string }
  | { type: 'warning'; message: string }
  /** A stop was asked for (a signal): what the run does about it, shown at once. */
  | { type: 'interrupting'; message: string }
  | { type: 'interrupted' };

export interface RunSummary {
  results: TaskResult[];
  recap: Map<string, HostRecap>;
  /** Wall time of the command, from the process's start to the recap (input checking included). */
  durationMs: number;
  interrupted: boolean;
  /** Tasks in flight were cut (grace over, or a second signal) instead of finishing. */
  cut: boolean;
  check: boolean;
}

/** Receives events as they happen, then the summary once. */
export interface Reporter {
  event(e: RunEvent): void;
  finish(summary: RunSummary): Promise<void> | void;
}

export function emptyRecap(): HostRecap {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, interrupted: 0 };
}
