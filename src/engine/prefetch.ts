import type { ProbeResult } from '../resources/types.ts';
import type { Remote } from '../transport/remote.ts';
import type { CompiledPlay, CompiledRun } from './compile.ts';
import { probeAll } from './probe-batch.ts';

/**
 * Reads, as the run starts, what every task of every play will read: one round trip per host and
 * play, all at once, the probes running side by side on each host. A rerun that has nothing to
 * change then costs one round trip per host instead of one per host, play and role, with the
 * connections to every host opened at once rather than play by play.
 *
 * A reading serves a task only while the run has changed nothing anywhere: one change (on any
 * host, since a change on one can show on another, as a node joining does in kubectl) and every
 * task reads afresh, as without prefetching.
 */
export class Prefetch {
  private readonly readings = new Map<string, Promise<Map<string, ProbeResult>>>();
  private changed = false;

  constructor(compiled: CompiledRun, remoteFor: (host: string, play: CompiledPlay) => Promise<Remote>) {
    for (const [p, cp] of compiled.plays.entries()) {
      for (const [host, probes] of probesByHost(cp)) {
        const reading = remoteFor(host, cp)
          .then((remote) => probeAll(remote, probes, { concurrent: true }))
          .then((results) => new Map(probes.flatMap((probe, i) => (results[i] ? [[probe, results[i]] as const] : []))))
          // A host that cannot be read now is read (and reported) by its tasks as usual.
          .catch(() => new Map<string, ProbeResult>());
        this.readings.set(key(host, p), reading);
      }
    }
  }

  /** Something was changed: from now on every task reads for itself. */
  invalidate(): void {
    this.changed = true;
  }

  /** What `probe` printed on `host` as the run started, if that still holds. */
  async get(host: string, play: number, probe: string): Promise<ProbeResult | undefined> {
    if (this.changed) return undefined;
    const found = (await this.readings.get(key(host, play)))?.get(probe);
    return this.changed ? undefined : found;
  }
}

const key = (host: string, play: number): string => `${play}\0${host}`;

/** Each task's probe, on the host it reads (its delegate's, for a delegated task), once each. */
function probesByHost(cp: CompiledPlay): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const role of cp.roles) {
    for (const [host, tasks] of role.tasks) {
      for (const t of tasks) {
        const probe = t.resource?.probe;
        if (!probe) continue;
        const target = t.delegateTo ?? host;
        out.set(target, (out.get(target) ?? new Set()).add(probe));
      }
    }
  }
  return new Map([...out].map(([h, set]) => [h, [...set]]));
}
