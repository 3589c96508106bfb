import { Listr, type ListrTaskWrapper, type DefaultRenderer, type SimpleRenderer } from 'listr2';
import type { Reporter, RunEvent, RunSummary, TaskResult } from '../engine/events.ts';
import type { OutputOptions } from './plain.ts';
import { interruptedLine, recapLines } from './recap.ts';
import { taskDetails, taskHeadline } from './task-lines.ts';

type HostTask = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

/** A host's view, made when its play starts; listr starts its task (`attach`) a little later. */
class HostView {
  /** listr's task for the host, once listr has started it (after the play's events may have begun). */
  task?: HostTask;
  /** The current role > task, kept until listr's task exists to show it. */
  output?: string;
  failed?: string;
  changed = 0;
  ok = 0;
  readonly registered: Promise<void>;
  private readonly finished: Promise<void>;
  private register!: () => void;
  private finish!: (error?: Error) => void;

  constructor(readonly host: string) {
    this.registered = new Promise((resolve) => (this.register = resolve));
    this.finished = new Promise((resolve, reject) => (this.finish = (error) => (error ? reject(error) : resolve())));
  }

  attach(task: HostTask): Promise<void> {
    this.task = task;
    if (this.output) task.output = this.output;
    this.register();
    return this.finished;
  }

  done(): void {
    // listr shows a failed task's error in place of its title: the error names the host too.
    this.finish(this.failed ? new Error(`${this.host}  ${this.failed}`) : undefined);
  }
}

/** One play's live view: its hosts, the listr run showing them, and what to print once it is done. */
interface PlayView {
  hosts: Map<string, HostView>;
  /** listr's run of this play; starts once the previous play's view is closed. */
  shown: Promise<unknown>;
  /** Lines printed once the play's live view is done: diffs, failures, warnings. */
  pending: string[];
  /** Set once `close` was called: closing twice waits on the same promise. */
  closed?: Promise<void>;
}

/**
 * Live progress on a terminal: play > host, each host showing its current role > task.
 * The renderer owns the screen while a play runs, so diffs and failure details are printed,
 * under the task that made them, once the play's progress is complete.
 *
 * A play's hosts are known (and counted) from its first event; listr starts their tasks a little
 * later, after the previous play's view is done. A short play can end before that: it is then
 * closed once every host's task has started, never before. Each play's view is its own object, so
 * closing one never waits on the next one's (which itself waits for this one to close).
 */
export class ListrReporter implements Reporter {
  private current?: PlayView;
  private plays = 0;
  /** Hosts a failure or a lost connection took out of the run: later plays show them as such, not as ok. */
  private readonly out = new Map<string, string>();

  constructor(private readonly o: OutputOptions) {}

  event(e: RunEvent): void {
    if (e.type === 'play') this.startPlay(e.name, e.hosts, e.check);
    else if (e.type === 'task-start') this.show(e.host, `${e.role} > ${e.task}`);
    else if (e.type === 'task') this.record(e.result);
    else if (e.type === 'warning' && !this.current) this.o.write(this.o.redactor.text(`WARNING: ${e.message}`));
    else if (e.type === 'warning') this.current?.pending.push(`WARNING: ${e.message}`);
    else if (e.type === 'interrupting') this.interrupting(e.message);
  }

  async finish(summary: RunSummary): Promise<void> {
    if (this.current) await this.close(this.current);
    if (summary.interrupted) this.o.write(interruptedLine(summary));
    this.o.write('');
    for (const line of recapLines(summary, this.o.colour)) this.o.write(line);
  }

  private startPlay(name: string, hosts: string[], check: boolean): void {
    const previous = this.current ? this.close(this.current) : Promise.resolve();
    const views = new Map(hosts.map((host) => [host, new HostView(host)]));
    for (const [host, why] of this.out) {
      const view = views.get(host);
      if (view) view.failed = `${why} in an earlier play: not run`;
    }
    const first = this.plays++ === 0;
    const shown = previous.then(() => {
      if (!first) this.o.write('');
      this.o.write(`PLAY [${name}]${check ? ' (check mode)' : ''}`);
      const list = new Listr(
        [...views.values()].map((view) => ({
          title: view.host,
          task: (_ctx: unknown, task: HostTask) => view.attach(task),
        })),
        // listr2's own SIGINT handler exits at once (127): stopping is play's to do (src/cli/stop-signals.ts).
        {
          concurrent: true,
          exitOnError: false,
          registerSignalListeners: false,
          rendererOptions: { collapseSubtasks: false, showErrorMessage: true },
        },
      );
      return list.run().catch(() => undefined);
    });
    this.current = { hosts: views, shown, pending: [] };
  }

  private close(play: PlayView): Promise<void> {
    play.closed ??= (async () => {
      const views = [...play.hosts.values()];
      await Promise.all(views.map((v) => v.registered));
      await new Promise((r) => setImmediate(r));
      for (const v of views) {
        if (v.task) v.task.title = `${v.host}  ok=${v.ok} changed=${v.changed}${v.failed ? `  ${v.failed}` : ''}`;
        v.done();
      }
      await play.shown;
      for (const line of play.pending) this.o.write(this.o.redactor.text(line));
      play.pending = [];
    })();
    return play.closed;
  }

  /** Shown at once under every host of the play (the live view owns the screen), and kept for after it. */
  private interrupting(message: string): void {
    this.current?.pending.push(message);
    for (const view of this.current?.hosts.values() ?? [])
      this.show(view.host, `${view.output ? `${view.output}: ` : ''}${message}`);
  }

  private show(host: string, what: string): void {
    const view = this.current?.hosts.get(host);
    if (!view) return;
    view.output = this.o.redactor.text(what);
    if (view.task) view.task.output = view.output;
  }

  private record(r: TaskResult): void {
    const view = this.current?.hosts.get(r.host);
    if (view) {
      if (r.status === 'changed') view.changed++;
      if (r.status === 'ok') view.ok++;
      if (r.status === 'failed' || r.status === 'unreachable' || r.status === 'interrupted')
        view.failed = this.o.redactor.text(`${r.status}: ${r.message ?? ''}`);
    }
    if (r.status === 'failed' || r.status === 'unreachable') this.out.set(r.host, r.status);
    const interesting =
      r.status === 'failed' ||
      r.status === 'unreachable' ||
      r.status === 'interrupted' ||
      (r.status === 'changed' && (this.o.diff || this.o.verbose));
    if (interesting || this.o.verbose)
      this.current?.pending.push(
        taskHeadline(r, this.o),
        ...taskDetails(r, this.o.diff, this.o.redactor, this.o.colour),
      );
  }
}
