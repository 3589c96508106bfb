import { PlayError } from '../errors.ts';

/** Where in a user's file something is: printed as `file:line:column`. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export function formatLocation(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return `${loc.file}:${loc.line}${loc.column === undefined ? '' : `:${loc.column}`}`;
}

/** One problem in the user's input: where, which key, what was expected. */
export interface InputProblem {
  location: SourceLocation;
  /** Dotted key path inside the file, e.g. `all.children.edge.hosts`. */
  keyPath?: string;
  message: string;
}

export function formatProblem(p: InputProblem): string {
  const key = p.keyPath ? ` ${p.keyPath}:` : '';
  return `${formatLocation(p.location)}:${key} ${p.message}`;
}

/**
 * Bad input, found before anything runs on a host. Carries every problem found, so the user
 * fixes them all in one go instead of one per run.
 */
export class InputError extends PlayError {
  static override readonly kind = 'input';
  constructor(readonly problems: InputProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InputError';
  }

  static at(location: SourceLocation, message: string, keyPath?: string): InputError {
    return new InputError([{ location, keyPath, message }]);
  }
}

/** Bad usage of the command line (unknown option, missing inventory, ...). */
export class UsageError extends PlayError {
  static override readonly kind = 'usage';
  /** The command whose help explains the usage: `play init` has its own. */
  constructor(
    message: string,
    readonly help = 'play --help',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Unknown role, tag, host or group: names what exists so the user can pick. */
export function unknownName(kind: string, name: string, known: Iterable<string>): string {
  const list = [...known].sort();
  return `unknown ${kind} "${name}"; known ${kind}s: ${list.length ? list.join(', ') : '(none)'}`;
}
