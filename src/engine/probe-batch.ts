import { randomBytes } from 'node:crypto';
import type { ProbeResult } from '../resources/types.ts';
import type { Remote } from '../transport/remote.ts';

/**
 * Reads many resources in one round trip, each output framed by markers no probe can print by
 * chance. The probes run one after another, or (`concurrent`, for long batches of read-only
 * probes) all at once, each into its own file, printed in order when all are done.
 */
export async function probeAll(remote: Remote, probes: readonly (string | undefined)[], options: { concurrent?: boolean } = {}): Promise<(ProbeResult | undefined)[]> {
  const wanted = probes.map((p, i) => [p, i] as const).filter((e): e is readonly [string, number] => e[0] !== undefined);
  if (wanted.length === 0) return probes.map(() => undefined);
  const nonce = randomBytes(8).toString('hex');
  const r = await remote.exec(options.concurrent ? concurrentScript(wanted, nonce) : sequentialScript(wanted, nonce));
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
  return wanted.map(([probe, i]) => `${begin(i, nonce)}\n( ${probe}\n) </dev/null 2>/dev/null\n${end(i, nonce, '"$?"')}`).join('\n');
}

function concurrentScript(wanted: Numbered, nonce: string): string {
  const run = wanted.map(([probe, i]) => `{ ( ${probe}\n) </dev/null >"$d/${i}" 2>/dev/null; echo $? >"$d/${i}.rc"; } &`);
  const print = wanted.map(([, i]) => `${begin(i, nonce)}; cat "$d/${i}"; ${end(i, nonce, `"$(cat "$d/${i}.rc")"`)}`);
  return ['d=$(mktemp -d) || exit 1', ...run, 'wait', ...print, 'rm -rf "$d"'].join('\n');
}
