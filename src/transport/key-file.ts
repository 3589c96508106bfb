import { closeSync, openSync, statSync } from 'node:fs';

/**
 * Why a private key file cannot be used, judged as OpenSSH judges it, from the file alone (its
 * content is parsed when connecting): missing, not a file, readable by others, or unreadable.
 * Checked with the input, so a bad key is an input error before any connection, not an
 * unreachable host.
 */
export function keyFileProblem(file: string): string | undefined {
  let mode: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return `private key file ${file} is not a regular file`;
    mode = st.mode;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `private key file ${file} does not exist`
      : `private key file ${file} cannot be read (${code ?? String(e)})`;
  }
  if ((mode & 0o077) !== 0)
    return `private key file ${file} is readable by others (mode ${(mode & 0o777).toString(8)}): like ssh, play will not use it; chmod 600 it`;
  try {
    closeSync(openSync(file, 'r'));
  } catch (e) {
    return `private key file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  return undefined;
}
