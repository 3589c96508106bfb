import type { Reporter, RunEvent, RunSummary } from '../engine/events.ts';
import { paint } from './colour.ts';
import { interruptedLine, recapLines } from './recap.ts';
import type { Redactor } from './redact.ts';
import { taskDetails, taskHeadline } from './task-lines.ts';

export interface OutputOptions {
  diff: boolean;
  verbose: boolean;
  check: boolean;
  /** Colour the statuses, diffs and recap (a terminal, FORCE_COLOR; never with NO_COLOR). */
  colour?: boolean;
  redactor: Redactor;
  write: (line: string) => void;
}

/** One line per event, for CI logs and pipes: greppable, in the order things happened. */
export class PlainReporter implements Reporter {
  constructor(private readonly o: OutputOptions) {}

  event(e: RunEvent): void {
    for (const line of this.lines(e)) this.o.write(this.o.redactor.text(line));
  }

  finish(summary: RunSummary): void {
    if (summary.interrupted) this.o.write(`\n${interruptedLine(summary)}`);
    this.o.write('');
    for (const line of recapLines(summary, this.o.colour)) this.o.write(line);
  }

  private lines(e: RunEvent): string[] {
    switch (e.type) {
      case 'play':
        return ['', `PLAY [${e.name}] on ${e.hosts.join(', ') || '(no hosts)'}${e.check ? ' (check mode)' : ''}`];
      case 'role':
        return [`ROLE [${e.role}] on ${e.hosts.join(', ')}`];
      case 'task':
        return [taskHeadline(e.result, this.o), ...taskDetails(e.result, this.o.diff, this.o.redactor, this.o.colour)];
      case 'verbose':
        return this.o.verbose ? [`[${e.host}] ${e.message}`] : [];
      case 'warning':
        return [paint(this.o.colour === true, 'yellow', `WARNING: ${e.message}`)];
      case 'interrupting':
        return [e.message];
      case 'interrupted':
        return [];
      case 'task-start':
        return [];
    }
  }
}
