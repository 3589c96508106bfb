/** The signals that ask a run to stop: Ctrl-C, `kill`/`timeout`/systemd, a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * A signal repeated within this time is the same request relayed again, not a second one: on
 * Ctrl-C the terminal signals the whole process group, and `npx`, `npm run` and tsx each forward
 * the signal to their child as well, so play receives one Ctrl-C up to three times at once.
 */
const SAME_REQUEST_MS = 1000;

/** After the cut, the recap and `--json` are written at once; past this, play exits regardless. */
const EXIT_DEADLINE_MS = 5000;

/** How often play looks whether the process that started it is still there. */
const PARENT_CHECK_MS = 500;

/** What asks play to stop: a signal, or the end of the process that started it. */
export type StopRequest = NodeJS.Signals | 'parent gone';

export interface StopHandlers {
  /** The first signal: start nothing new. `message` says what happens next. */
  stopping(message: string): void;
  /** The grace is over (or a second signal came): cut what still runs. */
  cut(message: string): void;
  /** Nothing answered the cut within the deadline: leave now with this code. */
  exit(code: number): void;
}

/**
 * How play stops when asked: the first signal stops launching work and gives the tasks in flight
 * `graceMs` to finish; then (or at a second signal) they are cut, and the run ends with its recap.
 */
export class StopSignals {
  private stopAt?: number;
  private cutDone = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly listener = (signal: NodeJS.Signals): void => this.received(signal);
  private parentWatch?: NodeJS.Timeout;

  constructor(
    private readonly graceMs: number,
    private readonly exitCode: number,
    private readonly on: StopHandlers,
  ) {}

  get stopping(): boolean {
    return this.stopAt !== undefined;
  }

  get cut(): boolean {
    return this.cutDone;
  }

  install(): void {
    for (const s of STOP_SIGNALS) process.on(s, this.listener);
    // `npx play` runs play under `sh -c`: a SIGTERM sent to npx alone is passed to that shell,
    // which dies of it without passing it on. Play then has a new parent: that is the request.
    // Only under npm (which says so in npm_command): started any other way, a parent that ends
    // (a script that backgrounds play and exits) means nothing.
    if (!process.env.npm_command) return;
    const parent = process.ppid;
    this.parentWatch = setInterval(() => process.ppid !== parent && this.received('parent gone'), PARENT_CHECK_MS);
    this.parentWatch.unref();
  }

  uninstall(): void {
    for (const s of STOP_SIGNALS) process.off(s, this.listener);
    for (const t of this.timers) clearTimeout(t);
    clearInterval(this.parentWatch);
  }

  /** A signal arrived (public for tests that drive it without signals). */
  received(signal: StopRequest, now = Date.now()): void {
    if (this.stopAt === undefined) {
      this.stopAt = now;
      if (signal === 'parent gone') clearInterval(this.parentWatch);
      const grace = `${(this.graceMs / 1000).toFixed(this.graceMs % 1000 === 0 ? 0 : 1)} s`;
      const what = signal === 'parent gone' ? 'the process that started play ended' : signal;
      this.on.stopping(
        `${what}: stopping: no new task starts; tasks in flight get ${grace} to finish, then are cut (${signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal'} cuts them now)`,
      );
      this.timers.push(setTimeout(() => this.doCut(`grace of ${grace} over`), this.graceMs));
      return;
    }
    if (now - this.stopAt < SAME_REQUEST_MS || signal === 'parent gone') return;
    this.doCut(`second ${signal}`);
  }

  private doCut(why: string): void {
    if (this.cutDone) return;
    this.cutDone = true;
    this.on.cut(`${why}: cutting the tasks still running`);
    // Not cleared with the listeners: a run that returned but left a handle open still ends.
    setTimeout(() => this.on.exit(this.exitCode), EXIT_DEADLINE_MS).unref();
  }
}
