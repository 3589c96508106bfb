// PLAY_TIMING=1 prints when each phase of a run ended, in ms since the process started: how
// bench/RESULTS.md's profile was taken, and how to check where a slow run spends its time.
const enabled = Boolean(process.env.PLAY_TIMING);

export function timing(what: string): void {
  if (enabled) process.stderr.write(`play timing: ${performance.now().toFixed(0).padStart(6)} ms  ${what}\n`);
}
