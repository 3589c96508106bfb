import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Removes earlier builds in a cache folder (names starting with `prefix`, other than `keep`) that
 * no running lab has bound: every change to the lab's Go sources makes a new build of some 300 MB.
 * A build is in use while any process's mount table names it (a booted host binds it read-only).
 */
export async function pruneUnusedBuilds(
  parent: string,
  prefix: string,
  keep: string,
  log: (msg: string) => void,
): Promise<void> {
  const others = readdirSync(parent).filter(
    (d) => d.startsWith(prefix) && d !== keep && !d.endsWith('.lock') && !d.endsWith('.build'),
  );
  if (others.length === 0) return;
  const mounted = mountedText();
  for (const dir of others) {
    if (mounted.includes(dir)) continue;
    await rm(join(parent, dir), { recursive: true, force: true });
    log(`removed an earlier build no lab uses: ${join(parent, dir)}`);
  }
}

/** Every process's mount table, concatenated (processes come and go while it is read). */
function mountedText(): string {
  const parts: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      parts.push(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
    } catch {
      // gone
    }
  }
  return parts.join('');
}
