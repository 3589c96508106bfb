// What the lab's client sees: requests sent from the internet side (the client namespace, beyond
// the provider's router and the edge) to a Service's address, counted and timed. The tests' and
// the benchmark's failover figures come from here.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { clientNamespace, projectRoot, type LabNames } from '../paths.ts';
import { sh, shMaybe } from '../run.ts';

/** One request of the loop: when it started (epoch ms), how long it took, and what came back. */
export interface Request {
  at: number;
  ms: number;
  /** The body of a 200 (trimmed), e.g. the answering pod's name for /hostname. */
  answer?: string;
  /** What went wrong instead: `timeout`, `ECONNREFUSED`, `HTTP 503`, ... */
  error?: string;
}

interface LoopOutput {
  started: number;
  every: number;
  timeoutMs: number;
  requests: [number, number, string][];
}

export interface RequestLoop {
  /** Ends the loop and returns every request it sent, once each has an outcome. */
  stop(): Promise<Request[]>;
}

/**
 * Starts the request loop (request-loop.ts) in the client's namespace: a new connection to `url`
 * every `everyMs`, each failing after `timeoutMs` without an answer (10 s by default, as a client
 * that gives up then: TCP's own retransmissions of a lost SYN, after 1, 3 and 7 s, still count
 * as answered, late). Resolves once the loop has sent its first request.
 */
export async function startRequestLoop(
  names: LabNames,
  url: string,
  options: { everyMs?: number; timeoutMs?: number } = {},
): Promise<RequestLoop> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      clientNamespace(names),
      process.execPath,
      '--import',
      'tsx',
      join(projectRoot, 'test/lab/traffic/request-loop.ts'),
      `--url=${url}`,
      `--every=${options.everyMs ?? 20}`,
      `--timeout=${options.timeoutMs ?? 10_000}`,
    ],
    { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // tsx takes a moment to start: what the caller does next must find the loop running.
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('request-loop: started')) resolve();
    });
    void exited.then((code) => reject(new Error(`the request loop exited ${code} before it started: ${err.trim()}`)));
  });
  return {
    async stop() {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`the request loop exited ${code}: ${err.trim()}`);
      return requests(JSON.parse(out) as LoopOutput);
    },
  };
}

function requests(out: LoopOutput): Request[] {
  return out.requests.map(([offset, ms, result]) => ({
    at: out.started + offset,
    ms,
    ...(result.startsWith('!') ? { error: result.slice(1) } : { answer: result }),
  }));
}

export interface Summary {
  total: number;
  ok: number;
  failed: number;
  /** Answers (pod names, addresses) and how often each came. */
  answers: Record<string, number>;
  errors: Record<string, number>;
  /** Requests that failed or took longer than `slowMs`. */
  disturbed: Request[];
  /** From the start of the first disturbed request to the end of the last; 0 when none was. */
  disturbedMs: number;
  slowestMs: number;
}

/** Counts what the client saw; a request is disturbed when it failed or took over `slowMs`. */
export function summarize(list: Request[], slowMs = 500): Summary {
  const count = (values: string[]): Record<string, number> =>
    values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
  const disturbed = list.filter((r) => r.error !== undefined || r.ms > slowMs);
  const first = disturbed[0];
  const last = disturbed.reduce((end, r) => Math.max(end, r.at + r.ms), 0);
  return {
    total: list.length,
    ok: list.filter((r) => r.answer !== undefined).length,
    failed: list.filter((r) => r.error !== undefined).length,
    answers: count(list.flatMap((r) => (r.answer === undefined ? [] : [r.answer]))),
    errors: count(list.flatMap((r) => (r.error === undefined ? [] : [r.error]))),
    disturbed,
    disturbedMs: first ? last - first.at : 0,
    slowestMs: list.reduce((m, r) => Math.max(m, r.ms), 0),
  };
}

/** One GET from the client with curl, as a user would check: the body, or the failure. */
export async function clientGet(names: LabNames, url: string, timeoutS = 5): Promise<string> {
  const r = await shMaybe`ip netns exec ${clientNamespace(names)} curl -sS --max-time ${timeoutS} ${url}`;
  if (r.exitCode !== 0) throw new Error(`curl ${url} from the client: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout.trim();
}

/**
 * Cuts a host off the lab's segment the way a dead machine or a pulled cable does: its link on
 * the provider's switch (the lab bridge) goes down. Nothing on the host is told; no session is
 * closed politely. Returns the time of the cut (epoch ms).
 */
export async function cutHost(names: LabNames, host: string): Promise<number> {
  const at = Date.now();
  await sh`ip -n ${names.controller} link set ${`v-${host}`} down`;
  return at;
}

export async function reconnectHost(names: LabNames, host: string): Promise<void> {
  await sh`ip -n ${names.controller} link set ${`v-${host}`} up`;
}
