import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { clientNamespace, DEFAULT_LAB, labNames } from './paths.ts';
import { defaultTopology, INTERNET, loadTopology, type Topology } from './topology.ts';
import { defaultTimeoutMs, up } from './lab.ts';
import { teardown } from './teardown.ts';
import { resetHosts } from './reset.ts';
import { formatStatus, labStatus } from './status.ts';
import { requireLabMachine } from './preflight.ts';

const log = (msg: string): void => console.error(`lab: ${msg}`);

const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

const program = new Command('lab')
  .description('The embedded lab: Debian hosts booted with systemd in network namespaces, reached over SSH')
  .option(
    '--name <lab>',
    'lab instance name (its own namespaces, .lab dir and inventory); default: $PLAY_LAB, else "lab"',
    process.env.PLAY_LAB ?? DEFAULT_LAB,
  )
  .enablePositionalOptions();

program
  .command('up')
  .description('boot the lab (tearing down any earlier one) and wait until every host is ready')
  .option('--workers <n>', 'K3s agents in the default topology', integer, 2)
  .option('--topology <file>', 'YAML topology file instead of the default (subnet, controller, hosts)')
  .option('--timeout <seconds>', 'boot timeout for all hosts together', integer)
  .option('--keep-on-failure', 'leave a lab that failed to boot in place for inspection')
  .action(async (opts: { workers: number; topology?: string; timeout?: number; keepOnFailure?: boolean }) => {
    requireLabMachine();
    const topology: Topology = opts.topology ? loadTopology(opts.topology) : defaultTopology(opts.workers);
    const names = labNames(program.opts<{ name: string }>().name);
    const started = Date.now();
    const state = await up(names, {
      topology,
      timeoutMs: opts.timeout ? opts.timeout * 1000 : defaultTimeoutMs(topology.hosts.length),
      keepOnFailure: opts.keepOnFailure,
      log,
    });
    log(
      `${state.hosts.length} hosts ready in ${((Date.now() - started) / 1000).toFixed(1)} s; state in ${names.dir}/state.json, inventory in ${state.inventory}`,
    );
    console.log(formatStatus(await labStatus(names)));
  });

program
  .command('down')
  .description("stop every host and remove the lab's processes, mounts and namespaces")
  .action(async () => {
    requireLabMachine();
    const names = labNames(program.opts<{ name: string }>().name);
    const r = await teardown(names);
    log(
      `down: ${r.hostsStopped} hosts stopped, ${r.killed} processes killed, ${r.unmounted} mounts and ${r.namespacesDeleted} namespaces removed`,
    );
  });

program
  .command('reset')
  .description('give hosts a fresh writable layer (identity kept) and boot them again')
  .argument('[hosts...]', 'host names (default: all)')
  .action(async (hostNames: string[]) => {
    requireLabMachine();
    const names = labNames(program.opts<{ name: string }>().name);
    const all = (await labStatus(names)).hosts.map((h) => h.name);
    await resetHosts(names, hostNames.length > 0 ? hostNames : all, log);
  });

program
  .command('status')
  .description('say what of the lab runs')
  .option('--json', 'machine-readable output')
  .action(async (opts: { json?: boolean }) => {
    const status = await labStatus(labNames(program.opts<{ name: string }>().name));
    console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    process.exitCode = status.up ? 0 : 3;
  });

/** Runs a command in one of the lab's namespaces, passing stop signals on. */
function execIn(namespace: string, what: string, argv: string[]): void {
  const names = labNames(program.opts<{ name: string }>().name);
  if (!existsSync(`/run/netns/${namespace}`)) {
    log(`lab ${names.lab} has no ${what}: run npm run lab:up first`);
    process.exit(2);
  }
  // Asynchronous, with the stop signals passed on: a blocking spawnSync would be killed by tsx on
  // Ctrl-C and leave the command running behind the shell's prompt (play's recap after it).
  const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
}

program
  .command('exec')
  .description('run a command inside the controller namespace, from where the hosts are reached')
  .argument('<command...>', 'the command and its arguments')
  .passThroughOptions()
  .action((argv: string[]) => {
    const names = labNames(program.opts<{ name: string }>().name);
    execIn(names.controller, 'controller namespace', argv);
  });

program
  .command('client')
  .description(
    `run a command on the lab's client, on the internet beyond the provider's router (${INTERNET.client}), e.g. curl`,
  )
  .argument('<command...>', 'the command and its arguments')
  .passThroughOptions()
  .action((argv: string[]) => {
    execIn(clientNamespace(labNames(program.opts<{ name: string }>().name)), 'client', argv);
  });

program.parseAsync().catch((error: unknown) => {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
