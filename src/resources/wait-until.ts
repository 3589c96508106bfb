import { q } from '../transport/shell.ts';
import { ResourceError, type Resource } from './types.ts';

export type WaitSpec = ({ command: string } | { port: number; host?: string }) & {
  /** Give up after this long; the error says what was awaited. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Run once on timeout; its output goes into the error (say what is still missing). */
  explain?: string;
  /** What is awaited, for messages (default: the command or port). */
  what?: string;
};

/** Waits until a command succeeds or a TCP port accepts connections, polling on the host itself (one round trip). */
export function waitUntilResource(spec: WaitSpec): Resource {
  const timeoutMs = spec.timeoutMs ?? 60_000;
  const interval = Math.max(0.1, (spec.intervalMs ?? 500) / 1000);
  const test = 'command' in spec ? spec.command : `bash -c ${q(`exec 3<>/dev/tcp/${spec.host ?? '127.0.0.1'}/${spec.port}`)}`;
  const what = spec.what ?? ('command' in spec ? `\`${spec.command}\` to succeed` : `port ${spec.host ?? '127.0.0.1'}:${spec.port} to accept connections`);
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
          const why = spec.explain ? (await remote.exec(spec.explain)).stdout.trim() : '';
          throw new ResourceError(`timed out after ${timeoutMs} ms waiting for ${what}${why ? `: ${why}` : ''}`);
        },
      };
    },
  };
}
