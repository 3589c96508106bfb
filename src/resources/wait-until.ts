import { q } from '../transport/shell.ts';
import { ownCommand, readAlone } from './probe.ts';
import { ResourceError, type Probe, type Resource } from './types.ts';

/**
 * What to wait for: a command to succeed or a port to accept connections (both polled on the
 * host itself), or a reading judged on the controller (`read` + `missing`). The last form lets
 * many tasks share one reading: every node's "is Ready" judged from one kubectl call.
 */
export type WaitSpec = (CommandWait | PortWait | JudgedReading) & {
  /** Give up after this long; the error says what was awaited. */
  timeoutMs?: number;
  /** The longest pause between two polls (a judged reading starts polling faster). */
  intervalMs?: number;
  /** What is awaited, for messages (default: the command or port). */
  what?: string;
};

interface CommandWait {
  command: string;
  /** Run once on timeout; its output goes into the error (say what is still missing). */
  explain?: string;
}

interface PortWait {
  port: number;
  host?: string;
}

export interface JudgedReading {
  /** A read-only command (or shared reading) whose output says how far the host got. */
  read: Probe;
  /** What is still missing according to that output, or undefined once it is all there. */
  missing(stdout: string): string | undefined;
}

/** Waits until a command succeeds, a TCP port accepts connections, or a reading shows nothing missing. */
export function waitUntilResource(spec: WaitSpec): Resource {
  return 'read' in spec ? judgedWait(spec) : hostPolledWait(spec);
}

function hostPolledWait(spec: WaitSpec & (CommandWait | PortWait)): Resource {
  const timeoutMs = spec.timeoutMs ?? 60_000;
  const interval = Math.max(0.1, (spec.intervalMs ?? 500) / 1000);
  const test =
    'command' in spec ? spec.command : `bash -c ${q(`exec 3<>/dev/tcp/${spec.host ?? '127.0.0.1'}/${spec.port}`)}`;
  const what =
    spec.what ??
    ('command' in spec
      ? `\`${spec.command}\` to succeed`
      : `port ${spec.host ?? '127.0.0.1'}:${spec.port} to accept connections`);
  const poll = [
    `end=$(( $(date +%s) + ${Math.ceil(timeoutMs / 1000)} ))`,
    `until ( ${test} ) >/dev/null 2>&1; do`,
    `  [ "$(date +%s)" -ge "$end" ] && exit 124`,
    `  sleep ${interval}`,
    'done',
  ].join('\n');
  return {
    describe: `wait for ${what}`,
    probe: `( ${test} ) >/dev/null 2>&1 && echo ready || echo waiting`,
    plan(current) {
      if (current?.stdout.trim() === 'ready') return { changes: [] };
      return {
        changes: [],
        settle: async (remote) => {
          const r = await remote.exec(poll, { timeoutMs: timeoutMs + 30_000 });
          if (r.exitCode === 0) return;
          const why = 'command' in spec && spec.explain ? (await remote.exec(spec.explain)).stdout.trim() : '';
          throw new ResourceError(`timed out after ${timeoutMs} ms waiting for ${what}${why ? `: ${why}` : ''}`);
        },
      };
    },
  };
}

const FIRST_POLL_MS = 100;

function judgedWait(spec: WaitSpec & JudgedReading): Resource {
  const timeoutMs = spec.timeoutMs ?? 60_000;
  const maxPause = Math.max(FIRST_POLL_MS, spec.intervalMs ?? 1000);
  const what = spec.what ?? `\`${ownCommand(spec.read)}\` to show nothing missing`;
  return {
    describe: `wait for ${what}`,
    probe: spec.read,
    plan(current) {
      if (current && stillMissing(spec, current) === undefined) return { changes: [] };
      return {
        changes: [],
        settle: async (remote) => {
          const end = Date.now() + timeoutMs;
          // Most waits end within a second or two: poll fast first, then back off to the interval.
          for (let pause = FIRST_POLL_MS; ; pause = Math.min(maxPause, pause * 2)) {
            const why = stillMissing(spec, await readAlone(remote, spec.read));
            if (why === undefined) return;
            const left = end - Date.now();
            if (left <= 0) throw new ResourceError(`timed out after ${timeoutMs} ms waiting for ${what}: ${why}`);
            await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
          }
        },
      };
    },
  };
}

/** What a reading says is still missing (a failed reading: that it failed), or undefined. */
function stillMissing(
  reading: JudgedReading,
  r: { exitCode: number; stdout: string; stderr?: string },
): string | undefined {
  if (r.exitCode !== 0)
    return `\`${ownCommand(reading.read)}\` failed (exit ${r.exitCode}): ${r.stderr?.trim() || 'no output'}`;
  return reading.missing(r.stdout);
}
