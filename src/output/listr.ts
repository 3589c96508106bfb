import { Listr, type ListrTaskWrapper, type DefaultRenderer, type SimpleRenderer } from 'listr2';
import type { Reporter, RunEvent, RunSummary, TaskResult } from '../engine/events.ts';
import type { OutputOptions } from './plain.ts';
import { recapLines } from './recap.ts';
import { taskDetails, taskHeadline } from './task-lines.ts';

type HostTask = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

interface HostView {
  host: string;
  task?: HostTask;
  done: () => void;
  failed?: string;
  changed: number;
  ok: number;
}

/**
 * Live progress on a terminal: play > host, each host showing its current role > task.
 * The renderer owns the screen while a play runs, so diffs and failure details are printed,
 * under the task that made them, once the play's progress is complete.
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
    this.running = previous.then(() => {
      this.o.write(`PLAY [${name}]${check ? ' (check mode)' : ''}`);
      this.hosts = new Map();
      const list = new Listr(
        hosts.map((host) => ({
          title: host,
          task: (_ctx: unknown, task: HostTask) =>
            new Promise<void>((resolve, reject) => {
              const view: HostView = { host, task, done: () => (view.failed ? reject(new Error(view.failed)) : resolve()), changed: 0, ok: 0 };
              this.hosts.set(host, view);
            }),
        })),
        { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false, showErrorMessage: true } },
      );
      return list.run().catch(() => undefined);
    });
  }

  private async endPlay(): Promise<void> {
    if (!this.running) return;
    // Host tasks register asynchronously once listr starts them; wait until all have.
    while ([...this.hosts.values()].some((v) => !v.task)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setImmediate(r));
    for (const v of this.hosts.values()) {
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
    if (view?.task) view.task.output = this.o.redactor.text(what);
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
