import type { CompiledPlay, CompiledRun } from './compile.ts';
import type { Connection } from './run.ts';
import type { Remote } from '../transport/remote.ts';
import { InterruptedError } from '../transport/remote.ts';
import { becomeCommand } from '../transport/become.ts';
import type { EarlyConnections } from '../transport/early-connections.ts';
import { SshConnection } from '../transport/ssh.ts';
import { becomeFor, connectionTarget, runsAs } from '../transport/target.ts';

/** How a command reaches hosts: one SSH connection per host, each play's become on top. */
export interface Connector {
  connect(host: string): Promise<Connection>;
  /** The play's view of a connection (its `become`); without a play, the host's own settings. */
  forPlay(conn: Remote, cp?: CompiledPlay): Remote;
  runsAs(host: string, cp?: CompiledPlay): string;
  /** Every connection opened so far, to interrupt them on a cut. */
  readonly opened: Set<SshConnection>;
}

export interface ConnectorOptions {
  acceptNewHostKeys: boolean;
  /** -b: become where neither the play nor the inventory says. */
  become: boolean;
  early: EarlyConnections;
  signal: AbortSignal;
  connected?(host: string, conn: SshConnection, ms: number): void;
}

export function connector(compiled: CompiledRun, o: ConnectorOptions): Connector {
  const opened = new Set<SshConnection>();
  const become = (host: string, cp?: CompiledPlay) =>
    becomeFor(compiled.hostVars.get(host) ?? {}, cp?.play.become ?? (o.become || undefined));
  return {
    opened,
    async connect(host) {
      const started = Date.now();
      const target = connectionTarget(host, compiled.hostVars.get(host) ?? {}, o.acceptNewHostKeys);
      if (o.signal.aborted) throw new InterruptedError(host);
      const conn = await (o.early.take(target) ?? SshConnection.connect(target, { signal: o.signal })).catch(
        (e: unknown) => {
          throw o.signal.aborted ? new InterruptedError(host) : e;
        },
      );
      opened.add(conn);
      if (o.signal.aborted) conn.interrupt();
      o.connected?.(host, conn, Date.now() - started);
      return conn;
    },
    forPlay(conn, cp) {
      const b = become(conn.host, cp);
      return {
        host: conn.host,
        exec: (command, opts) => {
          const { command: run, gate } = becomeCommand(command, b);
          return conn.exec(run, gate ? { ...opts, gate } : opts);
        },
      };
    },
    runsAs: (host, cp) => runsAs(become(host, cp)),
  };
}
