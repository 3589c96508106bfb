import { Listr, type ListrTaskWrapper, type DefaultRenderer, type SimpleRenderer } from 'listr2';
import type { Reporter, RunEvent, RunSummary, TaskResult } from '../engine/events.ts';
import type { OutputOptions } from './plain.ts';
import { recapLines } from './recap.ts';
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
    this.finish(this.failed ? new Error(this.failed) : undefined);
  }
}

/**
 * Live progress on a terminal: play > host, each host showing its current role > task.
 * The renderer owns the screen while a play runs, so diffs and failure details are printed,
 * under the task that made them, once the play's progress is complete.
 *
 * A play's hosts are known (and counted) from its first event; listr starts their tasks a little
 * later, after the previous play's view is done. A short play can end before that: it is then
 * closed once every host's task has started, never before.
 */
export class ListrReporter implements Reporter {
  private hosts = new Map<string, HostView>();
  private running?: Promise<unknown>;
  /** Lines printed once the live view of the play is done. */
  private pending: string[] = [];

  constructor(private readonly o: OutputOptions) {}

  event(e: RunEvent): void {
    if (e.type === 'play') this.startPlay(e.name, e.hosts, e.check);
    else if (e.type === 'task-start') this.show(e.host, `${e.role} > ${e.task}`);
    else if (e.type === 'task') this.record(e.result);
    else if (e.type === 'warning' && !this.running) this.o.write(this.o.redactor.text(`WARNING: ${e.message}`));
    else if (e.type === 'warning') this.pending.push(`WARNING: ${e.message}`);
  }

  async finish(summary: RunSummary): Promise<void> {
    await this.endPlay();
    if (summary.interrupted) this.o.write('INTERRUPTED: no new task was started; tasks already running finished.');
    this.o.write('');
    for (const line of recapLines(summary)) this.o.write(line);
  }

  private startPlay(name: string, hosts: string[], check: boolean): void {
    const previous = this.endPlay();
    const views = new Map(hosts.map((host) => [host, new HostView(host)]));
    this.hosts = views;
    this.running = previous.then(() => {
      this.o.write(`PLAY [${name}]${check ? ' (check mode)' : ''}`);
      const list = new Listr(
        [...views.values()].map((view) => ({
          title: view.host,
          task: (_ctx: unknown, task: HostTask) => view.attach(task),
        })),
        { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false, showErrorMessage: true } },
      );
      return list.run().catch(() => undefined);
    });
  }

  private async endPlay(): Promise<void> {
    if (!this.running) return;
    const views = [...this.hosts.values()];
    await Promise.all(views.map((v) => v.registered));
    await new Promise((r) => setImmediate(r));
    for (const v of views) {
      if (v.task) v.task.title = `${v.host}  ok=${v.ok} changed=${v.changed}${v.failed ? `  ${v.failed}` : ''}`;
      v.done();
    }
    await this.running;
    this.running = undefined;
    for (const line of this.pending) this.o.write(this.o.redactor.text(line));
    this.pending = [];
  }

  private show(host: string, what: string): void {
    const view = this.hosts.get(host);
    if (!view) return;
    view.output = this.o.redactor.text(what);
    if (view.task) view.task.output = view.output;
  }

  private record(r: TaskResult): void {
    const view = this.hosts.get(r.host);
    if (view) {
      if (r.status === 'changed') view.changed++;
      if (r.status === 'ok') view.ok++;
      if (r.status === 'failed' || r.status === 'unreachable') view.failed = this.o.redactor.text(`${r.status}: ${r.message ?? ''}`);
    }
    const interesting = r.status === 'failed' || r.status === 'unreachable' || (r.status === 'changed' && (this.o.diff || this.o.verbose));
    if (interesting || this.o.verbose) this.pending.push(taskHeadline(r, this.o), ...taskDetails(r, this.o.diff, this.o.redactor));
  }
}
