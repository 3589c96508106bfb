import { readFileSync, writeFileSync } from 'node:fs';

const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';

/**
 * Every host's systemd takes inotify instances from root's machine-wide allowance; Debian's default
 * of 128 runs out at about 20 hosts, and hosts then boot without sshd. Raised, never lowered.
 */
export function raiseInotifyLimit(hostCount: number, log: (msg: string) => void): void {
  const needed = 128 + 32 * hostCount;
  const current = Number(readFileSync(INOTIFY_INSTANCES, 'utf8').trim());
  if (current >= needed) return;
  writeFileSync(INOTIFY_INSTANCES, String(needed));
  log(`raised fs.inotify.max_user_instances from ${current} to ${needed} for ${hostCount} hosts`);
}
