// What is measured, in which order: rounds of interleaved A/B runs on the same hosts. Each round
// resets the hosts twice, once for each tool's first apply, and measures every no-op on the hosts
// the other tool may have converged: a no-op that changes anything is a failed equivalence.
import { join } from 'node:path';
import { changedCount, failedCount, measure, type Sample } from './measure.ts';
import type { BenchLab } from './lab.ts';
import type { BenchInventories } from './inventory.ts';

export const MEASURES = [
  'floor',
  'play no-op',
  'play check',
  'play first apply',
  'play to service at edge',
  'ansible no-op',
  'ansible first apply',
  'ansible to service at edge',
] as const;
export type MeasureName = (typeof MEASURES)[number];

interface Runner {
  argv: string[];
  env?: Record<string, string>;
  /** What the run must report for the sample to count. */
  expect: 'nothing' | 'no changes' | 'changes';
}

export interface Schedule {
  rounds: number;
  ansible: boolean;
  firstApply: boolean;
}

export type Samples = Partial<Record<MeasureName, Sample[]>>;

function runners(root: string, lab: BenchLab, inv: BenchInventories, controlDir: string): Record<MeasureName, Runner> {
  const play = ['node', join(root, 'bin/play.mjs'), 'site.yaml', '-i', inv.play];
  const ansible = [
    'ansible-playbook',
    '-i',
    inv.ansible,
    join(root, 'bench/ansible/site.yaml'),
    '--forks',
    String(Math.max(5, lab.hosts.length)),
  ];
  const ansibleEnv = {
    ANSIBLE_CONFIG: join(root, 'bench/ansible/ansible.cfg'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_LOCAL_TEMP: join(controlDir, 'tmp'),
  };
  return {
    floor: {
      argv: [
        'node',
        join(root, 'bench/floor.mjs'),
        join(lab.names.dir, 'id_ed25519'),
        'root',
        ...lab.hosts.map((h) => h.address),
      ],
      expect: 'nothing',
    },
    'play no-op': { argv: play, expect: 'no changes' },
    'play check': { argv: [...play, '--check', '--diff'], expect: 'no changes' },
    'play first apply': { argv: play, expect: 'changes' },
    'ansible no-op': { argv: ansible, env: ansibleEnv, expect: 'no changes' },
    'ansible first apply': { argv: ansible, env: ansibleEnv, expect: 'changes' },
    // Measured by serviceAtEdge, after a first apply, not run on their own.
    'play to service at edge': { argv: [], expect: 'nothing' },
    'ansible to service at edge': { argv: [], expect: 'nothing' },
  };
}

function check(name: MeasureName, runner: Runner, s: Sample, convergedBy: string): void {
  const tail = () => s.output.split('\n').slice(-40).join('\n');
  if (s.exitCode !== 0) throw new Error(`${name} exited ${s.exitCode}:\n${tail()}`);
  if (runner.expect === 'nothing') return;
  if (failedCount(s.output) > 0) throw new Error(`${name} reported failed or unreachable hosts:\n${tail()}`);
  const changed = changedCount(s.output);
  if (runner.expect === 'no changes' && changed > 0) {
    throw new Error(
      `${name} on hosts converged by ${convergedBy} reported ${changed} changed: play's site.yaml and bench/ansible/site.yaml are not equivalent\n${tail()}`,
    );
  }
  if (runner.expect === 'changes' && changed === 0)
    throw new Error(`${name} on fresh hosts changed nothing:\n${tail()}`);
}

const rotate = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length] as T);

export async function runRounds(
  root: string,
  lab: BenchLab,
  inv: BenchInventories,
  controlDir: string,
  schedule: Schedule,
  hooks: { reset: () => Promise<void>; log: (msg: string) => void },
): Promise<Samples> {
  const all = runners(root, lab, inv, controlDir);
  const samples: Samples = {};
  const ns = lab.names.controller;
  const take = async (name: MeasureName, convergedBy: string): Promise<Sample> => {
    const runner = all[name];
    const s = await measure(ns, runner.argv, runner.env);
    check(name, runner, s, convergedBy);
    (samples[name] ??= []).push(s);
    hooks.log(`${name}: ${(s.ms / 1000).toFixed(2)} s, peak RSS ${s.rssMb.toFixed(0)} MB`);
    return s;
  };
  // From fresh hosts to the real MetalLB's Service address learnt at the edge: the first apply,
  // then the article's echo-lb until the edge routes it (the tool's own run is the RSS).
  const serviceAtEdge = async (applier: string, apply: Sample): Promise<void> => {
    const s = await measure(ns, [
      'bash',
      join(root, 'bench/service-at-edge.sh'),
      join(root, 'test/lab/demo/echo-lb.yaml'),
    ]);
    if (s.exitCode !== 0) throw new Error(`echo-lb after ${applier}'s first apply:\n${s.output}`);
    const name = `${applier} to service at edge` as MeasureName;
    (samples[name] ??= []).push({ ...s, ms: apply.ms + s.ms, rssMb: apply.rssMb });
    hooks.log(
      `${name}: ${((apply.ms + s.ms) / 1000).toFixed(2)} s (the Service routed ${(s.ms / 1000).toFixed(2)} s after the apply)`,
    );
  };
  const tools = schedule.ansible ? ['play', 'ansible'] : ['play'];
  const noops: MeasureName[] = [
    'floor',
    'play no-op',
    'play check',
    ...(schedule.ansible ? (['ansible no-op'] as const) : []),
  ];
  await measure(ns, all.floor.argv); // warm-up: page cache, ARP, sshd's first fork
  if (!schedule.firstApply) {
    const converge = await measure(ns, all['play first apply'].argv);
    if (converge.exitCode !== 0) throw new Error(`converging the hosts with play failed:\n${converge.output}`);
  }
  for (let round = 0; round < schedule.rounds; round++) {
    hooks.log(`round ${round + 1} of ${schedule.rounds}`);
    // A B in odd rounds, B A in even ones: drift on this shared machine hits both alike.
    const appliers = schedule.firstApply ? rotate(tools, round) : ['an earlier run'];
    for (const applier of appliers) {
      if (schedule.firstApply) {
        await hooks.reset();
        await serviceAtEdge(applier, await take(`${applier} first apply` as MeasureName, 'nobody (fresh hosts)'));
      }
      for (const name of rotate(noops, round)) await take(name, applier);
    }
  }
  return samples;
}
