import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../input/errors.ts';
import type { CliOptions } from './options.ts';

/** The run's Ansible Vault passwords: each --vault-password-file's first line, then the one asked for. */
export async function vaultPasswords(o: Pick<CliOptions, 'vaultPasswordFiles' | 'askVaultPass'>, cwd: string): Promise<string[]> {
  const passwords = o.vaultPasswordFiles.map((f) => {
    try {
      return readFileSync(resolve(cwd, f), 'utf8').split(/\r?\n/)[0] ?? '';
    } catch (e) {
      throw new UsageError(`--vault-password-file ${f}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  });
  if (o.askVaultPass) passwords.push(await askHidden('Vault password: '));
  return passwords.filter((p) => p.length > 0);
}

/** Reads a line from the terminal without echoing it. */
function askHidden(prompt: string): Promise<string> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY) return Promise.reject(new UsageError('--ask-vault-pass needs a terminal; in scripts use --vault-password-file'));
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let typed = '';
  return new Promise((done, fail) => {
    const finish = (): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return done(typed);
        }
        if (ch === '\u0003') {
          finish();
          return fail(new UsageError('no vault password given (Ctrl-C)'));
        }
        typed = ch === '\u007f' || ch === '\b' ? typed.slice(0, -1) : typed + ch;
      }
    };
    stdin.on('data', onData);
  });
}
