import { randomBytes } from 'node:crypto';
import { probeKey } from '../resources/probe.ts';
import type { Probe, ProbeResult, SharedReader } from '../resources/types.ts';
import type { Remote } from '../transport/remote.ts';
import { q } from '../transport/shell.ts';

/**
 * Reads many resources in one round trip, each output framed by markers no probe can print by
 * chance. The probes run one after another, or (`concurrent`, for long batches of read-only
 * probes) all at once, each framed into its own file, printed when all are done.
 *
 * The batch runs in /bin/sh (dash on Debian), not the login shell: on a rerun, reading is most of
 * the hosts' work, and a bash fork per probe cost about twice as much CPU.
 */
export async function probeAll(
  remote: Remote,
  probes: readonly (Probe | undefined)[],
  options: { concurrent?: boolean } = {},
): Promise<(ProbeResult | undefined)[]> {
  const { commands, resultsOf } = merged(probes);
  return resultsOf(await runAll(remote, commands, options));
}

/**
 * Shared probes become one command per reader (each resource kind's, see SharedReader); each
 * probe's result is then cut from its command's, carrying that command's exit code.
 */
function merged(probes: readonly (Probe | undefined)[]): {
  commands: string[];
  resultsOf: (outs: (ProbeResult | undefined)[]) => (ProbeResult | undefined)[];
} {
  const commands: string[] = [];
  const own = probes.map((p) => (typeof p === 'string' ? commands.push(p) - 1 : undefined));
  const readers = new Map<SharedReader<unknown>, Map<string, unknown>>();
  for (const p of probes) {
    if (p === undefined || typeof p === 'string') continue;
    const items = readers.get(p.reader) ?? new Map<string, unknown>();
    items.set(probeKey(p), p.item);
    readers.set(p.reader, items);
  }
  const shared = [...readers].map(([reader, items]) => ({
    reader,
    keys: [...items.keys()],
    at: commands.push(reader.command([...items.values()])) - 1,
  }));
  const resultsOf = (outs: (ProbeResult | undefined)[]): (ProbeResult | undefined)[] => {
    const parts = new Map<string, ProbeResult>();
    for (const { reader, keys, at } of shared) {
      const out = outs[at];
      if (!out) continue;
      const split = reader.split(out.stdout, [...(readers.get(reader)?.values() ?? [])]);
      keys.forEach((key, i) => parts.set(key, { stdout: split[i] ?? '', exitCode: out.exitCode }));
    }
    return probes.map((p, i) =>
      p === undefined ? undefined : typeof p === 'string' ? outs[own[i] ?? -1] : parts.get(probeKey(p)),
    );
  };
  return { commands, resultsOf };
}

async function runAll(
  remote: Remote,
  probes: readonly string[],
  options: { concurrent?: boolean },
): Promise<(ProbeResult | undefined)[]> {
  if (probes.length === 0) return [];
  const wanted = probes.map((p, i) => [p, i] as const);
  const nonce = randomBytes(8).toString('hex');
  const script = options.concurrent ? concurrentScript(wanted, nonce) : sequentialScript(wanted, nonce);
  const r = await remote.exec(`exec /bin/sh -c ${q(script)}`);
  const results: (ProbeResult | undefined)[] = probes.map(() => undefined);
  const re = new RegExp(`@@${nonce}:begin:(\\d+)\\n([\\s\\S]*?)\\n@@${nonce}:end:\\1:(\\d+)\\n`, 'g');
  for (const m of r.stdout.matchAll(re)) results[Number(m[1])] = { stdout: m[2] ?? '', exitCode: Number(m[3]) };
  const lost = wanted.filter(([, i]) => results[i] === undefined);
  if (lost.length > 0) throw new Error(`reading state failed (exit ${r.exitCode}): ${r.stderr.trim() || 'no output'}`);
  return results;
}

type Numbered = readonly (readonly [string, number])[];

const begin = (i: number, nonce: string) => `printf '@@%s:begin:${i}\\n' ${nonce}`;
const end = (i: number, nonce: string, rc: string) => `printf '\\n@@%s:end:${i}:%s\\n' ${nonce} ${rc}`;

function sequentialScript(wanted: Numbered, nonce: string): string {
  return wanted
    .map(([probe, i]) => `${begin(i, nonce)}\n( ${probe}\n) </dev/null 2>/dev/null\n${end(i, nonce, '"$?"')}`)
    .join('\n');
}

function concurrentScript(wanted: Numbered, nonce: string): string {
  // One fork per probe for the background job, one for the subshell that keeps a probe's `exit`
  // from skipping its end marker; one `cat` for all: the frames carry their own order.
  const run = wanted.map(
    ([probe, i]) =>
      `{ ${begin(i, nonce)}; ( ${probe}\n) </dev/null 2>/dev/null; ${end(i, nonce, '"$?"')}; } >"$d/${i}" &`,
  );
  return ['d=$(mktemp -d) || exit 1', ...run, 'wait', 'cat "$d"/*', 'rm -rf "$d"'].join('\n');
}
