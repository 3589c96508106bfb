import { sha256 } from './file-state.ts';

/**
 * Shell lines that fill the file "$t" from the command's stdin and stop the script (exit 5)
 * unless it received exactly `content`. A dropped connection or a cut command closes stdin early:
 * `cat` then sees a normal end of input and exits 0, so only the length and hash sent ahead tell
 * a whole transfer from a truncated one.
 */
export function receiveInto(content: Buffer): string[] {
  const sha = sha256(content);
  return [
    'cat > "$t"',
    `n=$(wc -c < "$t"); [ "$n" -eq ${content.length} ] || { echo "received $n of ${content.length} bytes; nothing was changed" >&2; exit 5; }`,
    `[ "$(sha256sum < "$t")" = "${sha}  -" ] || { echo "the received content's sha256 differs from what was sent; nothing was changed" >&2; exit 5; }`,
  ];
}

/**
 * The start of a script that receives a file: its temp file is removed however the script ends,
 * including by a signal (SIGHUP when the connection drops, SIGTERM when play cuts it), which
 * would otherwise end the shell without running its EXIT trap.
 */
export const REMOVE_TEMP_ON_EXIT = [`trap 'rm -f "$t"' EXIT`, `trap 'exit 1' HUP INT TERM PIPE`];
