import { UsageError } from '../input/errors.ts';

/** Reads a line from the terminal without echoing it. */
export function askHidden(prompt: string, needsTerminal: string): Promise<string> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY) return Promise.reject(new UsageError(needsTerminal));
  // Echo off before the prompt shows: a password typed the moment it appears is never echoed.
  stdin.setRawMode(true);
  stderr.write(prompt);
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
          return fail(new UsageError(`no answer to "${prompt.trim()}" (Ctrl-C)`));
        }
        typed = ch === '\u007f' || ch === '\b' ? typed.slice(0, -1) : typed + ch;
      }
    };
    stdin.on('data', onData);
  });
}
