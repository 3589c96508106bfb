/**
 * One host at a time, in the play's host order, through a task marked `rolling`: a host waits
 * until every host before it has passed that task (or left the role). Used for rolling restarts.
 */
export class Turns {
  private readonly passed = new Map<string, Set<string>>();
  private readonly left = new Set<string>();
  private waiters: (() => void)[] = [];

  constructor(private readonly order: readonly string[]) {}

  async wait(task: string, host: string): Promise<void> {
    while (!this.isTurn(task, host)) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  done(task: string, host: string): void {
    let hosts = this.passed.get(task);
    if (!hosts) this.passed.set(task, (hosts = new Set()));
    hosts.add(host);
    this.wake();
  }

  /** The host is done with the role (or failed): it holds nobody up any more. */
  leave(host: string): void {
    this.left.add(host);
    this.wake();
  }

  private isTurn(task: string, host: string): boolean {
    const before = this.order.slice(0, Math.max(0, this.order.indexOf(host)));
    return before.every((h) => this.left.has(h) || this.passed.get(task)?.has(h));
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    waiting.forEach((w) => w());
  }
}
