import { PlayError } from '../errors.ts';

/** What a resource may do on a host: run one shell command, optionally fed on stdin. */
export interface Remote {
  readonly host: string;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  /** Overrides the connection's default command timeout. */
  timeoutMs?: number;
  /** The command first asks for a password (sudo or su under become): stdin waits until it runs. */
  gate?: PasswordGate;
}

/** How a command that asks for a password is answered (src/transport/become.ts). */
export interface PasswordGate {
  /** What the asking program prints on stderr. */
  prompt: string;
  password: string;
  /** What the command prints on stderr once it runs: its stdin follows only then. */
  ready: string;
  /** Said first when the password was refused. */
  refused: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The host cannot be reached (connect, auth, host key, or the connection dropped). */
export class UnreachableError extends PlayError {
  static override readonly kind = 'unreachable';
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/** A command ran longer than its timeout; the host is still reachable. */
export class CommandTimeoutError extends PlayError {
  static override readonly kind = 'timeout';
  constructor(
    readonly host: string,
    readonly timeoutMs: number,
  ) {
    super(`command timed out after ${timeoutMs} ms`);
    this.name = 'CommandTimeoutError';
  }
}

/** A command was cut because the run was told to stop (Ctrl-C, SIGTERM) and its grace ran out. */
export class InterruptedError extends PlayError {
  static override readonly kind = 'interrupted';
  constructor(
    readonly host: string,
    message = 'cut: the run was stopped (Ctrl-C or SIGTERM) before this finished',
  ) {
    super(message);
    this.name = 'InterruptedError';
  }
}
