import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Connection } from '../../../src/engine/run.ts';
import { UnreachableError, type ExecOptions, type ExecResult, type Remote } from '../../../src/transport/remote.ts';
import { shellIn } from '../local-shell.ts';

/** One command a fake host ran, with when it started and ended (ms since the hosts were made). */
export interface Exec {
  host: string;
  command: string;
  start: number;
  end: number;
}

/**
 * Hosts for the engine's unit tests, behind the same `Remote` interface as SSH: each host is a
 * temporary directory, and its commands run in /bin/sh there, as the current user. No root, no
 * lab, no network; the engine's own batching, prefetch and framing run unchanged. Roles used with
 * them touch only relative paths.
 */
export class FakeHosts {
  readonly root = mkdtempSync(join(tmpdir(), 'play-fake-hosts-'));
  readonly execs: Exec[] = [];
  private readonly t0 = performance.now();

  constructor(private readonly options: { unreachable?: string[] } = {}) {}

  dir(host: string): string {
    const d = join(this.root, host);
    mkdirSync(d, { recursive: true });
    return d;
  }

  readonly connect = async (host: string): Promise<Connection> => {
    if (this.options.unreachable?.includes(host))
      throw new UnreachableError(host, `connect ECONNREFUSED (fake host ${host})`);
    const shell = shellIn(host, {
      cwd: this.dir(host),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: host },
    });
    return { host, exec: (command, options) => this.exec(shell, command, options), close: () => undefined };
  };

  /** The commands a host ran that were not the engine's readings (its batched probes). */
  changesOn(host: string): Exec[] {
    return this.execs.filter((e) => e.host === host && !isReading(e.command));
  }

  private async exec(shell: Remote, command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const start = performance.now() - this.t0;
    const result = await shell.exec(command, options);
    this.execs.push({ host: shell.host, command, start, end: performance.now() - this.t0 });
    return result;
  }
}

/** The engine reads hosts in batches framed by probe-batch.ts: `exec /bin/sh -c '…'`. */
export const isReading = (command: string): boolean => command.startsWith('exec /bin/sh -c ');
