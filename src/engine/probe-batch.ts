import { randomBytes } from 'node:crypto';
import { probeKey, sharedReadings } from '../resources/shared-probes.ts';
import type { Probe, ProbeResult, SharedKind } from '../resources/types.ts';
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
 * Shared probes become one command per kind (src/resources/shared-probes.ts); each probe's
 * result is then cut from its command's, carrying that command's exit code.
 */
function merged(probes: readonly (Probe | undefined)[]): {
  commands: string[];
  resultsOf: (outs: (ProbeResult | undefined)[]) => (ProbeResult | undefined)[];
} {
  const commands: string[] = [];
  const own = probes.map((p) => (typeof p === 'string' ? commands.push(p) - 1 : undefined));
  const items = new Map<SharedKind, string[]>();
  for (const p of probes) {
    if (p === undefined || typeof p === 'string') continue;
    const list = items.get(p.kind) ?? [];
    if (!list.includes(p.item)) list.push(p.item);
    items.set(p.kind, list);
  }
  const shared = [...items].map(([kind, list]) => ({
    kind,
    list,
    at: commands.push(sharedReadings[kind].command(list)) - 1,
  }));
  const resultsOf = (outs: (ProbeResult | undefined)[]): (ProbeResult | undefined)[] => {
    const parts = new Map<string, ProbeResult>();
    for (const { kind, list, at } of shared) {
      const out = outs[at];
      if (!out) continue;
      const split = sharedReadings[kind].split(out.stdout, list);
      list.forEach((item, i) =>
        parts.set(probeKey({ kind, item }), { stdout: split[i] ?? '', exitCode: out.exitCode }),
      );
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
