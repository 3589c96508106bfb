import { PlayError } from '../errors.ts';
import type { Remote } from '../transport/remote.ts';

/** A change a resource would make; what diffs and the `--json` report are made of. */
export type Change =
  /** Text content of a file: shown as a unified diff. `null` is "absent". */
  | { type: 'content'; path: string; before: string | null; after: string | null }
  /** Any other property: shown as `what: before → after`. */
  | { type: 'value'; what: string; before: string | null; after: string | null };

/** What one probe printed and how it exited. */
export interface ProbeResult {
  stdout: string;
  exitCode: number;
}

/**
 * How the resources of one kind read a host together: every unit a host's tasks read comes from
 * one `systemctl show`, every file's metadata from one `stat`. On a rerun, reading is most of what
 * the hosts do, and most of that was process starts; merged, a host's batch starts about half as
 * many. Each kind's reader lives with its resource (file-state.ts, service.ts, apt.ts,
 * kube-status.ts); the engine only asks it for the command and for each item's part.
 */
export interface SharedReader<T> {
  /** The kind of thing read, e.g. `file`: part of every probe key. */
  readonly name: string;
  /** An item's identity: items with equal keys are read once. */
  key(item: T): string;
  /** One command reading every item. */
  command(items: readonly T[]): string;
  /** Each item's part of the output, as its resource would have printed it read on its own. */
  split(stdout: string, items: readonly T[]): string[];
}

/** A resource's part of a shared reading: a unit, a package list, a file. */
export interface SharedProbe<T = unknown> {
  readonly reader: SharedReader<T>;
  readonly item: T;
}

/** How a resource reads the host: a shell snippet of its own, or its part of a shared reading. */
export type Probe = string | SharedProbe;

/** The outcome of comparing the host with the declaration. */
export interface Plan {
  /** What differs; empty means the host is already as declared. */
  changes: Change[];
  /**
   * Makes the host as declared; runs only outside check mode and only when there are changes.
   * `runtime` is what the run offers beyond this host (a new connection to prove a firewall).
   */
  apply?: (remote: Remote, runtime: Runtime) => Promise<ApplyOutcome | void>;
  /** Waiting for the host to get somewhere (a port, a condition); skipped in check mode. */
  settle?: (remote: Remote) => Promise<void>;
  /** A read-only check that must pass; runs in check mode too. What it returns is shown with the task. */
  inspect?: (remote: Remote) => Promise<string | void>;
  /** What the reading showed, shown with the task (a read-only check's report). */
  report?: string;
  /**
   * Check mode: what readings would show once this change is made. A later task that reads the
   * same thing (the same file, unit, package list or table) is judged against the host as this
   * change would leave it, so check mode reports the changes the real run will make, not the
   * same change twice. A function: it is asked for in check mode only, and only when the plan
   * has changes (a file's prediction hashes its content).
   */
  predicts?: () => Prediction[];
}

/** A reading as it would be after a change: what `probe` would print. */
export interface Prediction {
  probe: Probe;
  stdout: string;
}

export interface ApplyOutcome {
  /** A command resource may learn only after running that it changed nothing. */
  changed: boolean;
}

/**
 * A piece of desired state on a host. Reading is a shell snippet (`probe`) so the engine can read
 * every resource of a role in one round trip; `plan` is pure, so check mode and a real run see the
 * same changes.
 */
export interface Resource {
  /** e.g. `file /etc/frr/frr.conf`: what the resource manages, for messages. */
  readonly describe: string;
  /** Prints the current state on stdout. No probe: the plan needs no reading. */
  readonly probe?: Probe;
  /** Fetches values only known at run time (a token on another host); runs in check mode too. */
  prepare?(runtime: Runtime): Promise<void>;
  plan(current: ProbeResult | undefined): Plan;
}

/** What a resource may ask of the run beyond its own host. */
export interface Runtime {
  check: boolean;
  /**
   * stdout of a command on another host, once per run. A secret is masked in all output from
   * then on. In check mode a failure (the host is not set up yet) yields undefined.
   */
  read(host: string, command: string, secret: boolean): Promise<string | undefined>;
  /**
   * Opens a NEW SSH connection to the host and runs `true` on it, then closes it: proves that a
   * change (a firewall) still lets the controller in. Rejects with why it could not.
   */
  newConnection(host: string): Promise<void>;
}

/** Raised by a resource for a failure the user can act on; the message says what and where. */
export class ResourceError extends PlayError {
  static override readonly kind = 'resource';
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ResourceError';
  }
}

/** Runs a command and turns a non-zero exit into a ResourceError carrying stderr. */
export async function runOrFail(
  remote: Remote,
  what: string,
  command: string,
  stdin?: string | Buffer,
): Promise<string> {
  const r = await remote.exec(command, { stdin });
  if (r.exitCode !== 0) throw new ResourceError(`${what} failed (exit ${r.exitCode})`, (r.stderr || r.stdout).trim());
  return r.stdout;
}
