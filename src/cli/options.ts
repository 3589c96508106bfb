import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../input/errors.ts';

export interface CliOptions {
  playbook: string;
  inventory: string;
  check: boolean;
  diff: boolean;
  tags: string[];
  skipTags: string[];
  roles: string[];
  limit?: string;
  extraVars: string[];
  forks?: number;
  listHosts: boolean;
  listTasks: boolean;
  listTags: boolean;
  syntaxCheck: boolean;
  json?: string;
  verbose: number;
  acceptNewHostKeys: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const commaList = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

function program(): Command {
  return new Command('play')
    .description('Apply a playbook of TypeScript roles to an inventory of hosts over SSH.')
    .argument('<playbook>', 'playbook file, or a name in playbooks/ (e.g. site.yaml)')
    .requiredOption('-i, --inventory <inventory>', 'inventory directory or file; a bare name means inventory/NAME/')
    .option('-C, --check', 'change nothing; report what would change', false)
    .option('-D, --diff', 'show the changes as diffs', false)
    .option('-t, --tags <tags>', 'run only tasks with these tags (comma-separated; repeatable)', commaList, [])
    .option('--skip-tags <tags>', 'skip tasks with these tags', commaList, [])
    .option('--role <name>', 'run only this role (repeatable)', commaList, [])
    .option('-l, --limit <pattern>', 'limit to hosts matching this pattern (a:b, a:&b, a:!b, globs)')
    .option('-e, --extra-vars <vars>', 'k=v pairs, a JSON/YAML mapping, or @file (repeatable; highest precedence)', collect, [])
    .addOption(new Option('-f, --forks <n>', 'hosts worked on at once (default: all, at most 64)').argParser(positiveInt))
    .option('--list-hosts', 'list the hosts each play would run on, then exit', false)
    .option('--list-tasks', 'list the tasks that would run, then exit', false)
    .option('--list-tags', 'list the tags in use, then exit', false)
    .option('--syntax-check', 'check playbook, inventory, roles, variables and templates, then exit', false)
    .option('--json <file>', 'also write a machine-readable report of every task on every host')
    .option('-v, --verbose', 'more detail (repeatable)', (_v: string, n: number) => n + 1, 0)
    .option('--accept-new-host-keys', 'record the host keys of hosts not in known_hosts (a changed key is still refused)', false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
}

/** Parses argv; `--help`/`--version` print and yield undefined; a mistake is a UsageError. */
export function parseOptions(argv: string[], print: (s: string) => void): CliOptions | undefined {
  const cmd = program();
  cmd.configureOutput({ writeOut: print, writeErr: () => undefined });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version')) return undefined;
    if (e instanceof CommanderError) throw new UsageError(e.message.replace(/^error: /, ''));
    throw e;
  }
  const o = cmd.opts<Omit<CliOptions, 'playbook' | 'roles'> & { role: string[] }>();
  return { ...o, roles: o.role, playbook: cmd.args[0] ?? '' };
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--forks expects a positive integer, got "${v}"`);
  return n;
}
