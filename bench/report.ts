// The benchmark's results: figures per measure, ratios against the targets, the machine and the
// versions; as a table for the terminal and as JSON for bench/results/.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEASURES, type MeasureName, type Samples } from './rounds.ts';
import { summarize, type Summary } from './stats.ts';

export interface Figure {
  seconds: Summary;
  peakRssMb: Summary;
  samples: number[];
}

interface Ratio {
  name: string;
  value: number;
  target: string;
  met: boolean | null;
}

export interface Results {
  date: string;
  hosts: number;
  rounds: number;
  machine: { cpu: string; cores: number; memoryGiB: number; kernel: string };
  versions: Record<string, string>;
  figures: Partial<Record<MeasureName, Figure>>;
  ratios: Ratio[];
}

const quiet = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'not available';
  }
};

function versions(root: string): Record<string, string> {
  const pkg = (p: string) => (JSON.parse(readFileSync(join(root, p), 'utf8')) as { version: string }).version;
  return {
    play: `${pkg('package.json')} (${quiet('git', ['-C', root, 'rev-parse', '--short', 'HEAD'])})`,
    node: process.version,
    ssh2: pkg('node_modules/ssh2/package.json'),
    'ansible-core':
      quiet('ansible-playbook', ['--version'])
        .split('\n')[0]
        ?.replace(/^ansible-playbook \[core (.*)\]$/, '$1') ?? 'not available',
    openssh: quiet('dpkg-query', ['-W', '-f=${Version}', 'openssh-client']),
  };
}

/** Targets from issue 5; null where a figure is missing (e.g. --no-ansible). */
function ratios(f: Results['figures'], hosts: number): Ratio[] {
  const m = (name: MeasureName) => f[name]?.seconds.median ?? NaN;
  const r = (name: string, value: number, target: string, ok: (v: number) => boolean): Ratio => ({
    name,
    value,
    target,
    met: Number.isNaN(value) ? null : ok(value),
  });
  const noopRatio = hosts >= 32 ? 50 : 25;
  const list = [
    r('play no-op / floor', m('play no-op') / m('floor'), '<= 2', (v) => v <= 2),
    r('play check / floor', m('play check') / m('floor'), '(no target)', () => true),
    r('ansible no-op / play no-op', m('ansible no-op') / m('play no-op'), `>= ${noopRatio}`, (v) => v >= noopRatio),
    r(
      'ansible first apply / play first apply',
      m('ansible first apply') / m('play first apply'),
      hosts <= 4 ? '>= 10' : '(target at 4 hosts)',
      (v) => hosts > 4 || v >= 10,
    ),
  ];
  const rss = Math.max(
    ...(['play no-op', 'play check', 'play first apply'] as const).map((n) => f[n]?.peakRssMb.max ?? NaN),
  );
  list.push(
    r('play peak RSS (MB)', rss, hosts >= 32 ? '<= 150' : '(target at 32 hosts)', (v) => hosts < 32 || v <= 150),
  );
  return list;
}

export function buildResults(root: string, hosts: number, rounds: number, samples: Samples): Results {
  const figures: Results['figures'] = {};
  for (const name of MEASURES) {
    const list = samples[name];
    if (list?.length)
      figures[name] = {
        seconds: summarize(list.map((s) => s.ms / 1000)),
        peakRssMb: summarize(list.map((s) => s.rssMb)),
        samples: list.map((s) => Math.round(s.ms) / 1000),
      };
  }
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    hosts,
    rounds,
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
    },
    versions: versions(root),
    figures,
    ratios: ratios(figures, hosts),
  };
}

const sec = (v: number) => v.toFixed(2);

export function formatTable(r: Results): string {
  const rows = Object.entries(r.figures).map(([name, f]) => [
    name,
    sec(f.seconds.median),
    `${sec(f.seconds.min)}–${sec(f.seconds.max)}`,
    String(f.seconds.n),
    `${f.peakRssMb.max.toFixed(0)} MB`,
  ]);
  const head = ['measure', 'median s', 'min–max s', 'runs', 'peak RSS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const ratioLines = r.ratios.map(
    (x) =>
      `  ${x.name.padEnd(40)} ${Number.isNaN(x.value) ? '—' : x.value.toFixed(x.value >= 10 ? 0 : 2)}  target ${x.target}${x.met === false ? '  MISSED' : ''}`,
  );
  return [
    `play benchmark: ${r.hosts} hosts, ${r.rounds} rounds, ${r.machine.cores} cores (${r.machine.cpu}); ${Object.entries(
      r.versions,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    line(head),
    ...rows.map(line),
    'ratios (of medians):',
    ...ratioLines,
  ].join('\n');
}
