import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../input/errors.ts';
import { askHidden } from './ask-hidden.ts';
import type { CliOptions } from './options.ts';

/**
 * The run's Ansible Vault passwords: each --vault-password-file's, then the one asked for.
 * As in Ansible, an executable file is a script whose output is the password (a password
 * manager's client); any other file holds the password itself, surrounding whitespace stripped.
 */
export async function vaultPasswords(
  o: Pick<CliOptions, 'vaultPasswordFiles' | 'askVaultPass'>,
  cwd: string,
): Promise<string[]> {
  const passwords = o.vaultPasswordFiles.map((f) => passwordFrom(resolve(cwd, f), f));
  if (o.askVaultPass)
    passwords.push(
      await askHidden('Vault password: ', '--ask-vault-pass needs a terminal; in scripts use --vault-password-file'),
    );
  return passwords.filter((p) => p.length > 0);
}

function passwordFrom(path: string, given: string): string {
  let executable: boolean;
  try {
    executable = (statSync(path).mode & 0o111) !== 0;
  } catch (e) {
    throw new UsageError(
      `--vault-password-file ${given}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  if (!executable) {
    const password = readFileSync(path, 'utf8').trim();
    // As ansible-vault: an empty file is a mistake (a secret not yet fetched), not "no password".
    if (password.length === 0)
      throw new UsageError(`--vault-password-file ${given}: the file is empty; it must hold the vault password`);
    return password;
  }
  try {
    // The script's stderr goes to the operator (a password manager may ask something there);
    // its stdout is the password and is never shown, not even when the script fails.
    return execFileSync(path, [], {
      encoding: 'utf8',
      stdio: ['inherit', 'pipe', 'inherit'],
      timeout: 120_000,
    }).replace(/^[\r\n]+|[\r\n]+$/g, '');
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number | null; signal?: string | null };
    const why =
      err.status != null
        ? `exited with ${err.status}`
        : err.signal
          ? `was stopped by ${err.signal}`
          : `could not be run (${err.code ?? String(e)})`;
    throw new UsageError(
      `--vault-password-file ${given}: an executable file is run as a password script, and this one ${why}`,
    );
  }
}
