/**
 * play's one error hierarchy: every error play raises on purpose is a PlayError, carrying its
 * kind and the exit code a run that ends on it returns. Anything else that escapes is a bug
 * (exit 1, with its stack).
 *
 * Identity is by brand, not by class: a role compiled outside play's tree, or a second copy of
 * play's modules, has its own classes, and `instanceof` across them still holds because
 * PlayError's `Symbol.hasInstance` checks the brand and the kind.
 */

/**
 * As ansible-playbook where it has a code (0, 2, 4, 99); play adds distinct codes for bad usage
 * and invalid input, which ansible-playbook folds together.
 */
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected error in play itself. */
  internal: 1,
  hostFailed: 2,
  /** play doctor: a check failed. */
  checkFailed: 3,
  hostUnreachable: 4,
  /** Bad command line: unknown option, missing argument, playbook or inventory not found. */
  usage: 5,
  /** Invalid input: YAML, schemas, variables, templates, unknown role/tag/host/group. */
  invalidInput: 6,
  /** Ctrl-C: stopped cleanly, recap printed. */
  interrupted: 99,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const KINDS = {
  /** The command line is wrong. */
  usage: EXIT.usage,
  /** The user's files are wrong, found before any host is contacted. */
  input: EXIT.invalidInput,
  /** A host pattern is wrong (becomes an input problem where its file is known). */
  pattern: EXIT.invalidInput,
  /** A template does not render (becomes an input problem where its role is known). */
  template: EXIT.invalidInput,
  /** A task failed on a host. */
  resource: EXIT.hostFailed,
  /** A command ran past its timeout; the host is still reachable. */
  timeout: EXIT.hostFailed,
  /** A host cannot be reached. */
  unreachable: EXIT.hostUnreachable,
  /** The run was told to stop and a task was cut. */
  interrupted: EXIT.interrupted,
} as const;

export type ErrorKind = keyof typeof KINDS;

const BRAND = Symbol.for('play.error');

interface Branded {
  [BRAND]: true;
  kind: ErrorKind;
}

function isBranded(v: unknown): v is Branded {
  return typeof v === 'object' && v !== null && (v as Partial<Branded>)[BRAND] === true;
}

export abstract class PlayError extends Error {
  /** Each concrete class names its kind; `instanceof` matches on it. */
  static readonly kind: ErrorKind | undefined = undefined;
  readonly [BRAND] = true as const;

  static override [Symbol.hasInstance](this: { readonly kind: ErrorKind | undefined }, v: unknown): boolean {
    return isBranded(v) && (this.kind === undefined || v.kind === this.kind);
  }

  get kind(): ErrorKind {
    const kind = (this.constructor as unknown as { readonly kind: ErrorKind | undefined }).kind;
    if (kind === undefined) throw new Error(`${this.constructor.name} declares no kind`);
    return kind;
  }

  /** The exit code of a run that ends on this error. */
  get exitCode(): ExitCode {
    return KINDS[this.kind];
  }
}
