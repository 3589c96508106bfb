import type { Resource } from '../resources/types.ts';
import type { Vars } from '../inventory/variables.ts';

/** What the engine knows about a host once connected; gathered only when a condition asks. */
export interface Facts {
  hostname: string;
  os: { id: string; versionId: string; codename: string };
  kernel: string;
  arch: string;
  /** Interface and IPv4 address of the default route, when there is one. */
  defaultIpv4?: { interface: string; address: string };
  virtualization: string;
}

/** The host a role is building tasks for, and the rest of the inventory around it. */
export interface RoleContext<V = Vars> {
  /** The role's variables for this host: defaults, inventory, play vars, `-e`, validated. */
  vars: V;
  host: { name: string; groups: string[]; address: string };
  /**
   * Hosts of a group (in inventory order), e.g. to list every k3s node in a peer config. The same
   * array for every host of the run: what a role derives from it may be kept by it (a WeakMap), so
   * thousands of hosts share one list of the nodes' addresses.
   */
  groupHosts(group: string): readonly string[];
  /** Inventory variables of another host (no role defaults applied). */
  hostVars(host: string): Vars;
  /** Another host's address (its `ansible_host`, else its name), e.g. for peer and firewall lists. */
  hostAddress(host: string): string;
  /** Says something the operator should know (a deprecation); printed once before the run. */
  warn(message: string): void;
  /**
   * A variable's value is wrong in a way its schema cannot say (overlapping pools, keepalive
   * above hold time): reported with the file and line where it was set, before any host is
   * contacted. `path` starts with the variable's name.
   */
  reject(path: (string | number)[], message: string): void;
  /** Like reject, but only a warning (a pool outside the nodes' subnet). */
  caution(path: (string | number)[], message: string): void;
  /** A value read from another host at run time, e.g. the cluster token from the first server. */
  fromHost(host: string, command: string, options?: { secret?: boolean }): FromHost;
}

const FROM_HOST = Symbol.for('play.fromHost');

/**
 * A value known only at run time: stdout of `command` on `host`, trailing newline trimmed.
 * Recognised by brand, as play's errors are (src/errors.ts): a role compiled on its own may hold
 * another copy of this class.
 */
export class FromHost {
  readonly [FROM_HOST] = true as const;

  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as { [FROM_HOST]?: unknown })[FROM_HOST] === true;
  }

  constructor(
    readonly host: string,
    readonly command: string,
    readonly secret: boolean,
  ) {}

  /** What stands in for the value where it is not known yet (checking templates, check mode). */
  get placeholder(): string {
    return `<not yet known: output of \`${this.command}\` on ${this.host}>`;
  }
}

/** A condition on variables (decided while planning) or on facts (decided on the host). */
export type Condition = boolean | ((facts: Facts) => boolean);

export interface TaskOptions {
  tags?: string[];
  when?: Condition;
  /** Handlers (by name) to run at the end of the role when this task changed something. */
  notify?: string | string[];
  /**
   * One host at a time, in the play's host order (rolling restarts). Consecutive tasks with the
   * same key, handlers included, form one turn: a host finishes all of them before the next starts.
   */
  rolling?: string;
  /** Run on this host instead (e.g. ask the first server whether a node is Ready). */
  delegateTo?: string;
  /** For a handler: not needed when this other handler runs in the same flush (a reload after a restart). */
  supersededBy?: string;
}

/** Everything a resource needs from its role at build time. */
export interface BuildEnv {
  roleDir: string;
  roleName: string;
  vars: Vars;
  host: RoleContext['host'];
}

/** One named, declared piece of desired state. */
export interface Task {
  name: string;
  tags: string[];
  when: Condition;
  notify: string[];
  rolling?: string;
  delegateTo?: string;
  supersededBy?: string;
  /** Builds the resource (rendering templates): done for every host before anything runs on a host. */
  build(env: BuildEnv): Resource;
}

/** Runs the handlers notified so far, here instead of at the end of the role. */
export interface FlushHandlers {
  name: 'flush handlers';
  flush: true;
  tags: string[];
}

export type TaskEntry = Task | FlushHandlers;

/**
 * What a role needs on its hosts beyond POSIX sh. Checked once per host, before anything runs on
 * it, so a host that lacks it fails at once with the reason instead of halfway through a role.
 */
export interface HostRequirements {
  /** Debian or a derivative (Ubuntu): /etc/os-release's ID or ID_LIKE says `debian`. */
  family?: 'debian';
  /** Programs the role runs, found on the PATH its commands run with (become's, when it becomes). */
  commands?: string[];
}

export interface RoleDefinition<V = Vars> {
  /** What the role's hosts must have; from its variables where it depends on them. */
  requires?: HostRequirements | ((ctx: RoleContext<V>) => HostRequirements);
  tasks(ctx: RoleContext<V>): (TaskEntry | false | null | undefined)[];
  handlers?(ctx: RoleContext<V>): Task[];
  /**
   * What a schema cannot say about the variables this role declares (overlapping pools, a hold
   * time below 3 s), through `ctx.reject`/`ctx.caution`. Run for every host of every role that
   * reads them (they borrow them with `declaredBy`), so a run that selects only such a role
   * checks them just the same; the role's tasks are not built where a check rejected.
   */
  checks?(ctx: RoleContext<V>): void;
}

export const isFlush = (t: TaskEntry): t is FlushHandlers => 'flush' in t;
