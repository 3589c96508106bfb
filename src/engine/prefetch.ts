import { probeKey } from '../resources/probe.ts';
import type { Probe, ProbeResult } from '../resources/types.ts';
import type { Remote } from '../transport/remote.ts';
import type { CompiledPlay, CompiledRun } from './compile.ts';
import { timing } from '../output/timing.ts';
import { probeAll } from './probe-batch.ts';

/** Who a play's commands run as on a host (its login or become user): readings are shared by identity. */
export type RunsAs = (host: string, play: CompiledPlay) => string;

/**
 * Reads, as the run starts, what every task of every play will read: one round trip per host
 * (per user commands run as there), all hosts at once, the probes running side by side on each
 * host. The same reading wanted by several plays (a node's Ready check from the servers' and the
 * agents' play) runs once. A rerun that has nothing to change then costs one round trip per host
 * instead of one per host, play and role, with the connections to every host opened at once
 * rather than play by play.
 *
 * A reading serves a task only while the run has changed nothing anywhere: one change (on any
 * host, since a change on one can show on another, as a node joining does in kubectl) and every
 * task reads afresh, as without prefetching.
 */
export class Prefetch {
  private readonly readings = new Map<string, Promise<Map<string, ProbeResult>>>();
  private changed = false;

  constructor(
    private readonly compiled: CompiledRun,
    private readonly runsAs: RunsAs,
    remoteFor: (host: string, play: CompiledPlay) => Promise<Remote>,
  ) {
    const batches = new Map<string, { host: string; play: CompiledPlay; probes: Map<string, Probe> }>();
    for (const cp of compiled.plays) {
      for (const [host, probes] of probesByHost(cp)) {
        const k = this.key(host, cp);
        const batch = batches.get(k) ?? { host, play: cp, probes: new Map<string, Probe>() };
        probes.forEach((p, key) => batch.probes.set(key, p));
        batches.set(k, batch);
      }
    }
    for (const [k, { host, play, probes }] of batches) {
      const [keys, list] = [[...probes.keys()], [...probes.values()]];
      const reading = remoteFor(host, play)
        .then((remote) => probeAll(remote, list, { concurrent: true }))
        .finally(() => timing(`read ${list.length} resources on ${host}`))
        .then((results) => new Map(keys.flatMap((key, i) => (results[i] ? [[key, results[i]] as const] : []))))
        // A host that cannot be read now is read (and reported) by its tasks as usual.
        .catch(() => new Map<string, ProbeResult>());
      this.readings.set(k, reading);
    }
  }

  /** Something was changed: from now on every task reads for itself. */
  invalidate(): void {
    this.changed = true;
  }

  /** What `probe` printed on `host` as the run started, if that still holds. */
  async get(host: string, play: number, probe: Probe): Promise<ProbeResult | undefined> {
    const cp = this.compiled.plays[play];
    if (this.changed || !cp) return undefined;
    const found = (await this.readings.get(this.key(host, cp)))?.get(probeKey(probe));
    return this.changed ? undefined : found;
  }

  private key(host: string, play: CompiledPlay): string {
    return `${host}\0${this.runsAs(host, play)}`;
  }
}

/** Each task's probe, on the host it reads (its delegate's, for a delegated task), once each. */
function probesByHost(cp: CompiledPlay): Map<string, Map<string, Probe>> {
  const out = new Map<string, Map<string, Probe>>();
  for (const role of cp.roles) {
    for (const [host, tasks] of role.tasks) {
      for (const t of tasks) {
        const probe = t.resource?.probe;
        if (!probe) continue;
        const target = t.delegateTo ?? host;
        out.set(target, (out.get(target) ?? new Map<string, Probe>()).set(probeKey(probe), probe));
      }
    }
  }
  return out;
}
