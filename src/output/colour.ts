/**
 * Colour on a terminal, as most tools decide it (https://no-color.org, FORCE_COLOR): FORCE_COLOR
 * set (and not "0") colours even a pipe; NO_COLOR set to anything but "" never colours; else a
 * terminal is coloured and a pipe or a file is not.
 */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY);
}

const CODES = { green: 32, yellow: 33, red: 31, cyan: 36, dim: 2 } as const;
export type Colour = keyof typeof CODES;

/** `text` in `colour` when `on`; as it is otherwise (logs and pipes stay plain text). */
export const paint = (on: boolean, colour: Colour, text: string): string =>
  on ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
