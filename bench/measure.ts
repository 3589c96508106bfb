// Runs one measured command inside the lab's controller namespace: wall time from the outside,
// peak RSS from GNU time (the largest resident size of the command's process).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sample {
  ms: number;
  rssMb: number;
  exitCode: number;
  output: string;
}

export async function measure(namespace: string, argv: string[], env: Record<string, string> = {}): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'play-bench-'));
  const rssFile = join(dir, 'rss');
  const started = process.hrtime.bigint();
  const child = spawn('ip', ['netns', 'exec', namespace, '/usr/bin/time', '-f', '%M', '-o', rssFile, '--', ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => chunks.push(c));
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const rssKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  rmSync(dir, { recursive: true, force: true });
  return { ms, rssMb: rssKb / 1024, exitCode, output: Buffer.concat(chunks).toString('utf8') };
}

/** Sum of `changed=N` over a play or ansible-playbook recap. */
export function changedCount(output: string): number {
  return [...output.matchAll(/\bchanged=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Sum of `failed=N` and `unreachable=N` over a recap. */
export function failedCount(output: string): number {
  return [...output.matchAll(/\b(?:failed|unreachable)=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}
