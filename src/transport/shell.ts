/** Quotes a string for POSIX sh: everything inside single quotes is literal. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Several commands in one script, so their outputs come back from one round trip: each output
 * follows a line holding only `mark`, and `sectionsOf` returns it exactly as printed (the newline
 * before each mark ends an output that lacks its own). `mark` must be a word no output contains.
 */
export function inSections(mark: string, commands: string[]): string {
  return commands.map((c) => `printf '\\n%s\\n' ${mark}; ${c || 'true'}`).join('\n');
}

/** The outputs of an `inSections` script, in order (also when what carried it trimmed its start). */
export function sectionsOf(mark: string, stdout: string): string[] {
  return `\n${stdout}`.split(`\n${mark}\n`).slice(1);
}
