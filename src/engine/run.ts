import pLimit from 'p-limit';
import type { Facts } from '../role/definition.ts';
import type { Remote } from '../transport/remote.ts';
import type { CompiledPlay, CompiledRun } from './compile.ts';
import {
  emptyRecap,
  type HostRecap,
  type Reporter,
  type RunEvent,
  type RunSummary,
  type TaskResult,
} from './events.ts';
import { gatherFacts } from './facts.ts';
import { hostRequirements, requirementsCommand, requirementsProblem } from './prerequisites.ts';
import { Prefetch, type RunsAs } from './prefetch.ts';
import { runRoleOnHost, type HostOutcome } from './run-role.ts';
import { Turns } from './turns.ts';
import { ResourceError, type Runtime } from '../resources/types.ts';

export type Connection = Remote & { close(): void };

export interface RunOptions {
  check: boolean;
  forks: number;
  reporter: Reporter;
  /** Opens (once per host for the whole run) the connection a play uses. */
  connect(host: string): Promise<Connection>;
  /** The play's view of a host's connection (e.g. with its `become`). */
  forPlay(remote: Remote, play: CompiledPlay): Remote;
  /** Who the play's commands run as on the host: plays that run as the same user share readings. */
  runsAs: RunsAs;
  /** Set by Ctrl-C or SIGTERM: launch nothing new, let what runs finish (within its grace). */
  interrupted(): boolean;
  /** Whether the tasks in flight were cut once their grace ran out (or at a second signal). */
  cut(): boolean;
  /** When the command started (epoch ms): the recap's total is the command's wall time. */
  startedAt: number;
  /** A secret learned at run time (a token read from a host): mask it from now on. */
  secretLearned(value: string): void;
}

/**
 * Plays in order; within a play, `serial` batches in order; within a batch, roles in order with
 * every host finishing a role before the next role starts (so a later role can rely on an
 * earlier one everywhere), hosts in parallel up to `forks`, tasks in order per host.
 * A host that fails or is unreachable takes no further part in the run.
 */
export async function runPlaybook(compiled: CompiledRun, options: RunOptions): Promise<RunSummary> {
  const results: TaskResult[] = [];
  const emit = (e: RunEvent): void => {
    if (e.type === 'task') results.push(e.result);
    options.reporter.event(e);
  };
  const connections = new Map<string, Promise<Connection>>();
  const facts = new Map<string, Promise<Facts>>();
  const remoteOf = (host: string): Promise<Connection> => cached(connections, host, () => options.connect(host));
  const dead = new Set<string>();
  const prerequisites = new Map<string, Promise<string | undefined>>();
  const reads = new Map<string, Promise<string | undefined>>();
  const predictions = new Map<string, Map<string, string>>();
  const predicted = (host: string): Map<string, string> => {
    let m = predictions.get(host);
    if (!m) predictions.set(host, (m = new Map()));
    return m;
  };
  const prefetch = new Prefetch(compiled, options.runsAs, async (h, cp) => options.forPlay(await remoteOf(h), cp));

  for (const [playIndex, cp] of compiled.plays.entries()) {
    if (options.interrupted()) break;
    // A play that no selected host has a task in (--limit, --role, --tags) says nothing.
    if (!cp.roles.some((role) => cp.hosts.some((h) => (role.tasks.get(h)?.length ?? 0) > 0))) continue;
    emit({ type: 'play', name: cp.play.name, hosts: cp.hosts, check: options.check });
    // Reads from other hosts go through the play's become (a token file is root's).
    const runtime = runtimeFor(options, async (h) => options.forPlay(await remoteOf(h), cp), reads);
    for (const batch of cp.batches) {
      if (options.interrupted()) break;
      const failedInBatch = new Set<string>();
      let abort = false;
      for (const role of cp.roles) {
        const hosts = batch.filter((h) => !dead.has(h) && (role.tasks.get(h)?.length ?? 0) > 0);
        if (hosts.length === 0 || options.interrupted()) continue;
        emit({ type: 'role', play: cp.play.name, role: role.name, hosts });
        const stop = (): boolean => options.interrupted() || (cp.play.anyErrorsFatal && failedInBatch.size > 0);
        const turns = new Turns(hosts);
        const onHost = async (host: string): Promise<void> => {
          const outcome: HostOutcome = await runRoleOnHost({
            play: cp.play.name,
            playIndex,
            prefetch,
            role: role.name,
            host,
            tasks: role.tasks.get(host) ?? [],
            handlers: role.handlers.get(host) ?? new Map(),
            remote: async () => options.forPlay(await remoteOf(host), cp),
            remoteOf: async (other) => options.forPlay(await remoteOf(other), cp),
            runtime,
            turns,
            facts: () => cached(facts, host, async () => gatherFacts(await remoteOf(host))),
            emit,
            stop,
            predicted,
            prerequisites: (remote) =>
              cached(prerequisites, host, async () => {
                const req = hostRequirements(compiled, host);
                if (!req) return undefined;
                return requirementsProblem(req, (await remote.exec(requirementsCommand(req))).stdout);
              }),
          });
          if (outcome === 'failed' || outcome === 'unreachable') {
            dead.add(host);
            failedInBatch.add(host);
          }
        };
        const fork = pLimit(options.forks);
        await Promise.all(hosts.map((host) => fork(() => onHost(host))));
        abort = tooManyFailures(cp, batch.length, failedInBatch.size);
        if (abort) break;
      }
      if (abort) break;
    }
  }
  const interrupted = options.interrupted();
  if (interrupted) emit({ type: 'interrupted' });
  await closeAll(connections);
  const summary: RunSummary = {
    results,
    recap: recap(compiled, results),
    durationMs: Date.now() - options.startedAt,
    interrupted,
    cut: options.cut(),
    check: options.check,
  };
  await options.reporter.finish(summary);
  return summary;
}

/** Reads from other hosts for resources, once per host and command for the whole run. */
function runtimeFor(
  options: RunOptions,
  remoteOf: (host: string) => Promise<Remote>,
  reads: Map<string, Promise<string | undefined>>,
): Runtime {
  return {
    check: options.check,
    read: (host, command, secret) =>
      cached(reads, `${host}\0${command}`, async () => {
        const r = await (await remoteOf(host)).exec(command);
        if (r.exitCode !== 0) {
          if (options.check) return undefined;
          throw new ResourceError(`reading \`${command}\` on ${host} failed (exit ${r.exitCode})`, r.stderr.trim());
        }
        const value = r.stdout.replace(/\n$/, '');
        if (secret && value) options.secretLearned(value);
        return value;
      }),
    newConnection: async (host) => {
      const fresh = await options.connect(host);
      try {
        const r = await fresh.exec('true');
        if (r.exitCode !== 0)
          throw new ResourceError(
            `a new connection to ${host} could not run a command (exit ${r.exitCode})`,
            r.stderr.trim(),
          );
      } finally {
        fresh.close();
      }
    },
  };
}

function tooManyFailures(cp: CompiledPlay, batchSize: number, failed: number): boolean {
  if (failed === 0) return false;
  if (cp.play.anyErrorsFatal || failed === batchSize) return true;
  const max = cp.play.maxFailPercentage;
  return max !== undefined && (failed * 100) / batchSize > max;
}

function recap(compiled: CompiledRun, results: TaskResult[]): Map<string, HostRecap> {
  const out = new Map<string, HostRecap>();
  for (const cp of compiled.plays) for (const h of cp.hosts) out.set(h, out.get(h) ?? emptyRecap());
  for (const r of results) {
    const entry = out.get(r.host) ?? emptyRecap();
    entry[r.status]++;
    out.set(r.host, entry);
  }
  return out;
}

async function closeAll(connections: Map<string, Promise<Connection>>): Promise<void> {
  for (const c of connections.values()) (await c.catch(() => undefined))?.close();
}

function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
  }
  return p;
}
