// npm run bench -- [--hosts N] [--rounds R]: play against the SSH floor and against Ansible on the
// same lab hosts (bench/README.md).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ensureLab, resetLab } from './lab.ts';
import { root, writeInventories } from './inventory.ts';
import { runRounds } from './rounds.ts';
import { buildResults, formatTable } from './report.ts';

const log = (msg: string): void => console.error(`bench: ${msg}`);
const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

const opts = new Command('bench')
  .description('Measure play against the SSH floor and against Ansible on the embedded lab')
  .option('--hosts <n>', 'lab hosts: the edge router, one K3s server and n-2 agents', positive, 4)
  .option(
    '--rounds <n>',
    'interleaved rounds; each gives two samples of every no-op figure and one of each first apply',
    positive,
    3,
  )
  .option('--lab <name>', 'lab instance to boot or reuse', 'bench')
  .option('--no-ansible', 'measure play and the floor only')
  .option('--no-first-apply', 'skip the first-apply figures (no host resets)')
  .option('--out <dir>', 'where results are written', join(root, 'bench/results'))
  .parse()
  .opts<{ hosts: number; rounds: number; lab: string; ansible: boolean; firstApply: boolean; out: string }>();

const lab = await ensureLab(opts.lab, opts.hosts, log);
const inventories = writeInventories(lab.names.inventoryDir, lab.names.dir);
const controlDir = join(lab.names.dir, 'bench', 'ssh-control');
rmSync(controlDir, { recursive: true, force: true });
mkdirSync(join(controlDir, 'tmp'), { recursive: true });
const samples = await runRounds(
  root,
  lab,
  inventories,
  controlDir,
  { rounds: opts.rounds, ansible: opts.ansible, firstApply: opts.firstApply },
  { reset: () => resetLab(lab, log), log },
);
const results = buildResults(root, opts.hosts, opts.rounds, samples);
mkdirSync(opts.out, { recursive: true });
const json = `${JSON.stringify(results, null, 2)}\n`;
writeFileSync(join(opts.out, 'latest.json'), json);
writeFileSync(join(opts.out, `hosts-${opts.hosts}.json`), json);
console.log(formatTable(results));
log(`results in ${join(opts.out, 'latest.json')}`);
