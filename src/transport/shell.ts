/** Quotes a string for POSIX sh: everything inside single quotes is literal. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Wraps a command for `become`: passwordless sudo, never prompting (`-n`), so a missing sudo
 * rule fails at once with sudo's message instead of hanging on a password prompt.
 */
export function withBecome(command: string, become: boolean, user: string, becomeUser = 'root'): string {
  if (!become || user === becomeUser) return command;
  return `sudo -n -H -u ${q(becomeUser)} -- /bin/sh -c ${q(command)}`;
}
