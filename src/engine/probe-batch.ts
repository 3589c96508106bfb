import { randomBytes } from 'node:crypto';
import type { ProbeResult } from '../resources/types.ts';
import type { Remote } from '../transport/remote.ts';

/**
 * Reads many resources in one round trip: their probes run one after another in one shell,
 * each output framed by markers no probe can print by chance.
 */
export async function probeAll(remote: Remote, probes: readonly (string | undefined)[]): Promise<(ProbeResult | undefined)[]> {
  const wanted = probes.map((p, i) => [p, i] as const).filter((e): e is readonly [string, number] => e[0] !== undefined);
  if (wanted.length === 0) return probes.map(() => undefined);
  const nonce = randomBytes(8).toString('hex');
  const script = wanted
    .map(([probe, i]) => `printf '@@%s:begin:${i}\\n' ${nonce}\n( ${probe}\n) </dev/null 2>/dev/null\nprintf '\\n@@%s:end:${i}:%s\\n' ${nonce} "$?"`)
    .join('\n');
  const r = await remote.exec(script);
  const results: (ProbeResult | undefined)[] = probes.map(() => undefined);
  const re = new RegExp(`@@${nonce}:begin:(\\d+)\\n([\\s\\S]*?)\\n@@${nonce}:end:\\1:(\\d+)\\n`, 'g');
  for (const m of r.stdout.matchAll(re)) results[Number(m[1])] = { stdout: m[2] ?? '', exitCode: Number(m[3]) };
  const lost = wanted.filter(([, i]) => results[i] === undefined);
  if (lost.length > 0) throw new Error(`reading state failed (exit ${r.exitCode}): ${r.stderr.trim() || 'no output'}`);
  return results;
}
