import { resolve } from 'node:path';
import { EXIT, PlayError } from '../errors.ts';
import { InputError, UsageError } from '../input/errors.ts';
import { Vault } from '../input/vault.ts';
import { dropDerivedWrites, keepOutOfCaches, settleDerivedWrites } from '../input/derived-cache.ts';
import { loadInventory, resolveInventoryPath } from '../inventory/load.ts';
import { compile, connectionPlan, type CompiledRun } from '../engine/compile.ts';
import type { Reporter, RunSummary } from '../engine/events.ts';
import { runPlaybook } from '../engine/run.ts';
import { checkRoleOption } from '../engine/selection.ts';
import { checkReportPath, writeJsonReport } from '../output/json-report.ts';
import { PlainReporter, type OutputOptions } from '../output/plain.ts';
import { Redactor } from '../output/redact.ts';
import { timing } from '../output/timing.ts';
import { loadPlaybook, resolvePlaybookPath } from '../playbook/load.ts';
import { EarlyConnections } from '../transport/early-connections.ts';
import { connectionTarget } from '../transport/target.ts';
import { connector } from '../engine/connector.ts';
import { init } from './init.ts';
import { extraVarsLayer } from './extra-vars.ts';
import { vaultPasswords } from './vault-password.ts';
import { listHosts, listTags, listTasks } from './listing.ts';
import { wantsColour } from '../output/colour.ts';
import { ansibleSettings } from './ansible-config.ts';
import { askConnectionPasswords } from './connection-passwords.ts';
import { connectionFlags, parseOptions, type CliOptions } from './options.ts';
import { StopSignals } from './stop-signals.ts';

const MAX_FORKS = 64;

export async function main(argv: string[]): Promise<number> {
  const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  let redactor = new Redactor([]);
  timing('play loaded');
  try {
    const cwd = process.cwd();
    if (argv[0] === 'init') {
      await init(argv.slice(1), cwd, out);
      return EXIT.ok;
    }
    if (argv[0] === 'completion') {
      (await import('./completion.ts')).completion(argv.slice(1), (s) => void process.stdout.write(s));
      return EXIT.ok;
    }
    const ansible = ansibleSettings(cwd);
    const options = parseOptions(argv, out, ansible);
    if (!options) return EXIT.ok;
    // What a user configured for Ansible and play does not use is said once, not ignored.
    ansible.unused.forEach((note) => process.stderr.write(`WARNING: ${note}\n`));
    const inventoryPath = resolveInventoryPath(options.inventory, cwd);
    const playbookPath = resolvePlaybookPath(options.playbook, cwd);
    if (options.json) checkReportPath(options.json);
    const passwords = await askConnectionPasswords(options);
    const vault = new Vault(await vaultPasswords(options, cwd));
    const playbook = loadPlaybook(playbookPath);
    checkRoleOption(options.roles, playbook);
    const inventory = loadInventory(inventoryPath, vault, playbook.dir);
    for (const file of inventory.skipped ?? [])
      process.stderr.write(
        `WARNING: ${file} is not an inventory (neither YAML nor INI): skipped, as Ansible skips it\n`,
      );
    const extraVars = options.extraVars.map((e, i) => extraVarsLayer(e, i, cwd, vault));
    const early = new EarlyConnections();
    try {
      const connectionDefaults = connectionFlags(options, passwords);
      // kubeconfig reads one host: it opens no connection to the others.
      if (!lists(options) && !options.kubeconfig)
        early.open(
          [...connectionPlan(playbook, inventory, { limit: options.limit, extraVars, connectionDefaults })].map(
            ([host, vars]) => connectionTarget(host, vars, options.acceptNewHostKeys),
          ),
        );
      const compileOptions = {
        limit: options.limit,
        extraVars,
        selection: { tags: options.tags, skipTags: options.skipTags, roles: options.roles },
        secrets: [...vault.secrets, ...Object.values(passwords)],
        connectionDefaults,
        rolesPath: options.rolesPath.map((p) => resolve(cwd, p)),
      };
      const compiled = await compile(playbook, inventory, compileOptions);
      timing('input checked');
      redactor = new Redactor(compiled.secrets);
      // doctor compiles the whole cluster too: what it derives is judged against both runs' secrets.
      const whole =
        options.doctor && options.limit !== undefined
          ? await compile(playbook, inventory, { ...compileOptions, limit: undefined })
          : compiled;
      redactor.add(...whole.secrets);
      settleDerivedWrites([...compiled.secrets, ...whole.secrets]);
      const learned = (value: string): void => {
        redactor.add(value);
        keepOutOfCaches(value);
      };
      const listing = listingFor(options, compiled);
      if (listing) {
        compiled.warnings.forEach((w) => process.stderr.write(`WARNING: ${redactor.text(w)}\n`));
        listing.forEach((l) => out(redactor.text(l)));
        return EXIT.ok;
      }
      if (options.kubeconfig) {
        const { fetchKubeconfig } = await import('../kubeconfig/fetch.ts');
        return await fetchKubeconfig(
          compiled,
          inventory,
          {
            ...options.kubeconfig,
            inventoryPath,
            acceptNewHostKeys: options.acceptNewHostKeys,
            become: options.connection.become,
          },
          redactor,
          out,
          early,
        );
      }
      if (options.doctor) {
        // Loaded only for doctor: a run does not pay for it.
        const { doctor } = await import('../doctor/doctor.ts');
        // The intended state is the whole cluster's, whatever --limit selects to check.
        return await doctor(
          compiled,
          whole,
          inventory,
          {
            inventoryPath,
            inventoryArg: options.inventory,
            json: options.json,
            verbose: options.verbose > 0,
            acceptNewHostKeys: options.acceptNewHostKeys,
            become: options.connection.become,
            forks: options.forks,
          },
          redactor,
          learned,
          out,
          early,
        );
      }
      const summary = await applyPlaybook(options, compiled, redactor, learned, out, early);
      timing('run finished');
      const code = exitCode(summary);
      if (options.json)
        writeJsonReport(
          options.json,
          summary,
          { playbook: playbookPath, inventory: inventoryPath, exitCode: code },
          redactor,
        );
      return code;
    } finally {
      early.closeUntaken();
    }
  } catch (e) {
    dropDerivedWrites();
    return reportError(e, redactor);
  }
}

/** Options that only list or check, never connecting. */
const lists = (o: CliOptions): boolean => o.listHosts || o.listTasks || o.listTags || o.syntaxCheck;

function listingFor(o: CliOptions, compiled: CompiledRun): string[] | undefined {
  const parts = [
    o.listHosts && listHosts(compiled),
    o.listTasks && listTasks(compiled),
    o.listTags && listTags(compiled),
  ].filter((p): p is string[] => Array.isArray(p));
  if (parts.length > 0) return parts.flat();
  return o.syntaxCheck ? ['syntax OK: playbook, inventory, roles, variables and templates are valid'] : undefined;
}

async function applyPlaybook(
  o: CliOptions,
  compiled: CompiledRun,
  redactor: Redactor,
  learned: (secret: string) => void,
  write: (s: string) => void,
  early: EarlyConnections,
): Promise<RunSummary> {
  const outputOptions: OutputOptions = {
    diff: o.diff,
    verbose: o.verbose > 0,
    check: o.check,
    colour: wantsColour(process.stdout),
    redactor,
    write,
  };
  // listr2 is loaded only for a terminal: piped and CI runs do not pay for it.
  const reporter: Reporter =
    process.stdout.isTTY && process.env.PLAY_OUTPUT !== 'plain'
      ? new (await import('../output/listr.ts')).ListrReporter(outputOptions)
      : new PlainReporter(outputOptions);
  const hostCount = new Set(compiled.plays.flatMap((p) => p.hosts)).size;
  const cut = new AbortController();
  const hosts = connector(compiled, {
    acceptNewHostKeys: o.acceptNewHostKeys,
    become: o.connection.become,
    early,
    signal: cut.signal,
    connected: (host, conn, ms) => {
      timing(`connected to ${host}`);
      reporter.event({
        type: 'verbose',
        host,
        message: `connected to ${conn.target.user}@${conn.target.address}:${conn.target.port} in ${ms} ms`,
      });
    },
  });
  const stops = new StopSignals(o.stopGraceSeconds * 1000, EXIT.interrupted, {
    stopping: (message) => reporter.event({ type: 'interrupting', message }),
    cut: (message) => {
      reporter.event({ type: 'interrupting', message });
      cut.abort();
      early.closeUntaken();
      for (const c of hosts.opened) c.interrupt();
    },
    exit: (code) => {
      process.stderr.write('play: the run did not end after its tasks were cut; exiting without a recap\n');
      process.exit(code);
    },
  });
  stops.install();
  compiled.warnings.forEach((message) => reporter.event({ type: 'warning', message }));
  try {
    return await runPlaybook(compiled, {
      check: o.check,
      forks: o.forks ?? Math.min(MAX_FORKS, Math.max(1, hostCount)),
      reporter,
      interrupted: () => stops.stopping,
      cut: () => stops.cut,
      startedAt: Math.round(performance.timeOrigin),
      secretLearned: learned,
      connect: hosts.connect,
      forPlay: hosts.forPlay,
      runsAs: hosts.runsAs,
    });
  } finally {
    stops.uninstall();
  }
}

function exitCode(s: RunSummary): number {
  const recaps = [...s.recap.values()];
  if (s.interrupted) return EXIT.interrupted;
  if (recaps.some((r) => r.failed > 0)) return EXIT.hostFailed;
  if (recaps.some((r) => r.unreachable > 0)) return EXIT.hostUnreachable;
  return EXIT.ok;
}

/** An error that ended the command: play's own say what and where, with their exit code; anything else is a bug. */
function reportError(e: unknown, redactor: Redactor): number {
  const err = (s: string): void => void process.stderr.write(`${redactor.text(s)}\n`);
  if (!(e instanceof PlayError)) {
    err(`play: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT.internal;
  }
  if (e instanceof UsageError) err(`play: ${e.message}\nRun \`${e.help}\` for usage.`);
  else if (e instanceof InputError)
    err(`play: invalid input (nothing was run on any host):\n${e.message.replace(/^/gm, '  ')}`);
  else err(`play: ${e.message}`);
  return e.exitCode;
}
