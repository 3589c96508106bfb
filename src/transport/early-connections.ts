import { setMaxListeners } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { timing } from '../output/timing.ts';
import { SshConnection, type ConnectionTarget } from './ssh.ts';

/**
 * SSH connections opened while the input is still being checked: the handshakes (a good part of
 * a rerun's time) overlap loading roles, checking variables and rendering templates. An early
 * connection runs no command and records no new host key until the run takes it, so bad input
 * still leaves no trace anywhere; one the run does not take (input rejected, or the compiled
 * connection settings differ) is closed unused.
 */
export class EarlyConnections {
  private readonly pending = new Map<string, { target: ConnectionTarget; conn: Promise<SshConnection> }>();
  /** Stops handshakes still under way when the run ends without them (an unreachable host must not hold the exit). */
  private readonly stop = new AbortController();

  constructor() {
    // One abort listener per handshake under way: as many as hosts, not a leak past ten.
    setMaxListeners(0, this.stop.signal);
  }

  open(targets: Iterable<ConnectionTarget>): void {
    for (const target of targets) {
      // A bad key file throws at once: as a rejection, it is reported where a late connect's would be.
      const conn = (async () => SshConnection.connect(target, { recordNewHostKey: false, signal: this.stop.signal }))();
      // A failure is reported if and when the run takes the connection.
      void conn.then(
        () => timing(`handshake with ${target.host} done`),
        () => undefined,
      );
      this.pending.set(target.host, { target, conn });
    }
  }

  /**
   * The early connection to `target.host`, if it was opened with these very settings; each is
   * handed out once (a later connect to the same host, like the firewall's lockout check, is new).
   */
  take(target: ConnectionTarget): Promise<SshConnection> | undefined {
    const early = this.pending.get(target.host);
    if (!early) return undefined;
    this.pending.delete(target.host);
    if (!isDeepStrictEqual(early.target, target)) {
      void early.conn.then(
        (c) => c.close(),
        () => undefined,
      );
      return undefined;
    }
    return early.conn.then((c) => c.adopt());
  }

  /** Closes every connection the run did not take. */
  closeUntaken(): void {
    for (const { conn } of this.pending.values())
      void conn.then(
        (c) => c.close(),
        () => undefined,
      );
    this.pending.clear();
    this.stop.abort();
  }
}
