import { join } from 'node:path';
import { compile } from '../../../src/engine/compile.ts';
import type { RunEvent, RunSummary, TaskResult } from '../../../src/engine/events.ts';
import { runPlaybook } from '../../../src/engine/run.ts';
import { Vault } from '../../../src/input/vault.ts';
import { loadInventory } from '../../../src/inventory/load.ts';
import { loadPlaybook } from '../../../src/playbook/load.ts';
import { projectRoot } from '../../lab/paths.ts';
import { FakeHosts } from './fake-hosts.ts';

const FIXTURE = join(projectRoot, 'test/fixtures/engine');

export interface FixtureRun {
  summary: RunSummary;
  events: RunEvent[];
  hosts: FakeHosts;
  learned: string[];
  /** `host task status` per result, in the order they were reported. */
  lines: string[];
}

export interface FixtureOptions {
  check?: boolean;
  forks?: number;
  limit?: string;
  unreachable?: string[];
  /** Reuse hosts from an earlier run (a rerun). */
  hosts?: FakeHosts;
  /** Asked before every task: true makes the run stop as Ctrl-C does. */
  interruptWhen?: (events: RunEvent[]) => boolean;
  /** Files to put on hosts before the run. */
  seed?: (hosts: FakeHosts) => void;
}

/** Compiles a playbook of test/fixtures/engine and runs it on fake hosts, as `play` would. */
export async function runFixture(playbook: string, o: FixtureOptions = {}): Promise<FixtureRun> {
  const check = o.check ?? false;
  const compiled = await compile(
    loadPlaybook(join(FIXTURE, 'playbooks', playbook)),
    loadInventory(join(FIXTURE, 'inventory'), new Vault([])),
    {
      limit: o.limit,
      extraVars: [],
      selection: { tags: [], skipTags: [], roles: [] },
    },
  );
  const hosts = o.hosts ?? new FakeHosts({ unreachable: o.unreachable });
  o.seed?.(hosts);
  const events: RunEvent[] = [];
  const learned: string[] = [];
  const summary = await runPlaybook(compiled, {
    check,
    forks: o.forks ?? 8,
    reporter: { event: (e) => events.push(e), finish: () => undefined },
    connect: hosts.connect,
    forPlay: (remote) => remote,
    runsAs: () => 'root',
    interrupted: () => o.interruptWhen?.(events) ?? false,
    cut: () => false,
    startedAt: Date.now(),
    secretLearned: (v) => learned.push(v),
  });
  const lines = summary.results.map((r: TaskResult) => `${r.host} ${r.task} ${r.status}`);
  return { summary, events, hosts, learned, lines };
}
