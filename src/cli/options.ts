import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../input/errors.ts';
import { installRoot, playVersion } from '../input/install-root.ts';
import { rolePaths, roleVariables } from '../role/load.ts';
import { join } from 'node:path';
import type { VarLayer } from '../inventory/variables.ts';
import type { AnsibleSettings } from './ansible-config.ts';

export interface CliOptions {
  playbook: string;
  /** `play doctor`: check the live cluster against site.yaml's intended state. */
  doctor: boolean;
  /** `play kubeconfig`: the first server's kubeconfig, written on this machine. */
  kubeconfig?: { output?: string; server?: string; name?: string };
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
  /** On Ctrl-C/SIGTERM, how long tasks in flight may finish before they are cut. */
  stopGraceSeconds: number;
  /** Folders of roles (--roles-path, or $PLAY_ROLES_PATH), colon-separated as Ansible's roles_path. */
  rolesPath: string[];
  /** Files holding Ansible Vault passwords (--vault-password-file, or $ANSIBLE_VAULT_PASSWORD_FILE). */
  vaultPasswordFiles: string[];
  askVaultPass: boolean;
  /** -k: ask for the SSH password; -K: ask for the become password (as ansible-playbook's). */
  askPass: boolean;
  askBecomePass: boolean;
  /** ansible-playbook's connection flags: defaults below the inventory's connection variables. */
  connection: {
    user?: string;
    privateKey?: string;
    timeout?: number;
    sshCommonArgs?: string;
    sshExtraArgs?: string;
    become: boolean;
    becomeUser?: string;
    becomeMethod?: string;
  };
}

const EXIT_HELP = `
Exit codes:
  0   success                     2   a host failed
  4   a host was unreachable      5   bad command line
  6   invalid input (YAML, schema, variables, templates, unknown role/tag/host/group);
      nothing was run on any host
  99  interrupted (Ctrl-C, SIGTERM, SIGHUP): nothing new started; tasks in flight
      finished or were cut after --stop-grace; recap and --json written
  1   internal error`;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const colonList = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(':').filter(Boolean),
];
/**
 * A comma-separated list of names that must name something: an empty value (a wrapper script's
 * unset variable) would otherwise select nothing, which means "everything".
 */
const names =
  (option: string, what: string) =>
  (value: string, previous: string[] | undefined): string[] => {
    const given = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (given.length === 0) throw new UsageError(`${option} expects ${what}, got an empty value`);
    return [...(previous ?? []), ...given];
  };

const DOCTOR_HELP = `
play doctor runs site.yaml's roles in check mode (what would change is drift) and reads the live
cluster: nodes, MetalLB, Services, BGP sessions, BFD and routes on the edge, or who answers ARP.
It never changes a host.

Exit codes:
  0   every check passed (warnings are printed)   3   a check failed
  4   a host was unreachable      5   bad command line
  6   invalid input (YAML, schema, variables, templates, unknown host/group)
  1   internal error`;

const KUBECONFIG_HELP = `
play kubeconfig reads /etc/rancher/k3s/k3s.yaml from the first k3s_server (through become),
points it at that server's address (or --server), names its cluster, user and context after the
inventory, and writes it here with mode 0600 (atomically: a stopped run leaves no half file). The
credentials it holds are never printed. kubectl reaches the API only from firewall_admin_sources.

Exit codes:
  0   written                     4   the server was unreachable
  2   the server has no kubeconfig (K3s not installed yet) or it could not be written
  5   bad command line            6   invalid input           1   internal error`;

export type Mode = 'run' | 'doctor' | 'kubeconfig';

function program(mode: Mode): Command {
  // doctor and kubeconfig check or read a cluster: they take none of a run's own options.
  const subcommand = mode !== 'run';
  const cmd =
    mode === 'kubeconfig'
      ? new Command('play kubeconfig')
          .description(
            "Write the cluster's kubeconfig on this machine, for kubectl (reads the first server; changes nothing)",
          )
          .option('-o, --output <file>', 'where to write it (default: ~/.kube/NAME.yaml)')
          .option(
            '--server <address>',
            "the API server's address as kubectl reaches it (default: the first server's ansible_host)",
          )
          .option(
            '--name <name>',
            "the cluster's, user's and context's name in the file (default: the inventory's folder name)",
          )
      : mode === 'doctor'
        ? new Command('play doctor').description(
            'Check the live cluster against the intended state (site.yaml and the inventory); read-only.',
          )
        : new Command('play')
            .description(
              'Apply a playbook of TypeScript roles to an inventory of hosts over SSH. `play doctor -i INVENTORY` checks a live cluster; `play kubeconfig -i INVENTORY` writes its kubeconfig here; `play init DIR --mode bgp|layer2` writes a starting inventory; `play completion bash|zsh` prints shell completion.',
            )
            .argument('<playbook>', "playbook file, or a name in playbooks/ or among play's own (e.g. site.yaml)")
            .version(playVersion, '-V, --version', "print play's version");
  cmd.option(
    '-i, --inventory <inventory>',
    "inventory directory or file, or host1,host2, (a bare name means inventory/NAME/; default: ansible.cfg's inventory, $ANSIBLE_INVENTORY)",
  );
  if (!subcommand) {
    cmd
      .option('-C, --check', 'change nothing; report what would change')
      .option('-D, --diff', 'show the changes as diffs')
      .option(
        '-t, --tags <tags>',
        'run only tasks with these tags (comma-separated; repeatable)',
        names('--tags', 'one or more tags'),
      )
      .option('--skip-tags <tags>', 'skip tasks with these tags', names('--skip-tags', 'one or more tags'))
      .option('--role <name>', 'run only this role (repeatable)', names('--role', 'one or more role names'));
  }
  if (mode !== 'kubeconfig')
    cmd.option('-l, --limit <pattern>', 'limit to hosts matching this pattern (a:b, a:&b, a:!b, globs)');
  cmd
    .option(
      '--roles-path <dirs>',
      "more folders of roles, colon-separated (repeatable; $PLAY_ROLES_PATH): after roles/ beside the playbook, before play's own",
      colonList,
    )
    .option(
      '-e, --extra-vars <vars>',
      'k=v pairs, a JSON/YAML mapping, or @file (repeatable; highest precedence)',
      collect,
    )
    .addOption(
      new Option('-f, --forks <n>', 'hosts worked on at once (default: all, at most 64)').argParser((v) =>
        positiveInt(v, '--forks'),
      ),
    );
  if (!subcommand) {
    cmd
      .addOption(
        new Option(
          '--stop-grace <seconds>',
          'on Ctrl-C or SIGTERM, how long tasks in flight may finish before they are cut',
        )
          .default(10)
          .argParser((v) => positiveInt(v, '--stop-grace')),
      )
      .option('--list-hosts', 'list the hosts each play would run on, then exit')
      .option('--list-tasks', 'list the tasks that would run, then exit')
      .option('--list-tags', 'list the tags in use, then exit')
      .option('--syntax-check', 'check playbook, inventory, roles, variables and templates, then exit');
  }
  if (mode !== 'kubeconfig')
    cmd.option(
      '--json <file>',
      subcommand
        ? "also write every check's verdict and evidence as JSON"
        : 'also write a machine-readable report of every task on every host',
    );
  return cmd
    .option('-v, --verbose', 'more detail (repeatable)', (_v: string, n: number) => n + 1, 0)
    .option(
      '--vault-password-file <file>',
      'a file holding the Ansible Vault password (repeatable; $ANSIBLE_VAULT_PASSWORD_FILE)',
      collect,
    )
    .addOption(
      new Option('--vault-pass-file <file>', 'the same as --vault-password-file').argParser(collect).hideHelp(),
    )
    .option('-J, --ask-vault-pass', 'ask for the Ansible Vault password (on a terminal)')
    .option('-u, --user <user>', "connect as this user (the inventory's ansible_user wins)")
    .option('--private-key <file>', "use this private key file (the inventory's key file wins)")
    .addOption(new Option('--key-file <file>', 'the same as --private-key').hideHelp())
    .option('-b, --become', "run commands through sudo (a play's become: and ansible_become win)")
    .option('--become-user <user>', "run commands as this user through sudo (the inventory's ansible_become_user wins)")
    .addOption(
      new Option('--become-method <method>', "sudo or su (the inventory's ansible_become_method wins)").choices([
        'sudo',
        'su',
      ]),
    )
    .option('-K, --ask-become-pass', 'ask for the become (sudo or su) password, on a terminal')
    .option('-k, --ask-pass', 'ask for the SSH password, on a terminal (for hosts that take no key yet)')
    .addOption(
      new Option('-T, --timeout <seconds>', "connection timeout (the inventory's ansible_timeout wins)").argParser(
        (v) => positiveInt(v, '--timeout'),
      ),
    )
    .option(
      '--ssh-common-args <args>',
      'ssh options for every host, e.g. "-o ProxyJump=bastion" (ansible_ssh_common_args wins)',
    )
    .option('--ssh-extra-args <args>', 'more ssh options (ansible_ssh_extra_args wins)')
    .option(
      '--accept-new-host-keys',
      'record the host keys of hosts not in known_hosts (a changed key is still refused)',
    )
    .addHelpText('after', mode === 'kubeconfig' ? KUBECONFIG_HELP : subcommand ? DOCTOR_HELP : EXIT_HELP)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
}

/** Every option a mode takes, long forms and short ones (for shell completion). */
export function optionNames(mode: Mode): string[] {
  return program(mode).options.flatMap((o) => [o.long, o.short].filter((n): n is string => n !== undefined));
}

/** Parses argv; `--help`/`--version` print and yield undefined; a mistake is a UsageError. */
export function parseOptions(
  argv: string[],
  print: (s: string) => void,
  ansible: AnsibleSettings = { unused: [] },
): CliOptions | undefined {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    print(`${versions()}\n`);
    return undefined;
  }
  const mode: Mode = argv[0] === 'doctor' || argv[0] === 'kubeconfig' ? argv[0] : 'run';
  const doctor = mode === 'doctor';
  const help = mode === 'run' ? 'play --help' : `play ${mode} --help`;
  const cmd = program(mode);
  cmd.configureOutput({ writeOut: print, writeErr: () => undefined });
  try {
    cmd.parse(mode === 'run' ? argv : argv.slice(1), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version'))
      return undefined;
    if (e instanceof CommanderError) throw new UsageError(e.message.replace(/^error: /, ''), help);
    throw e;
  }
  const o = cmd.opts<
    Partial<Omit<CliOptions, 'playbook' | 'roles' | 'stopGraceSeconds' | 'vaultPasswordFiles' | 'connection'>> & {
      role?: string[];
      stopGrace?: number;
      vaultPasswordFile?: string[];
      vaultPassFile?: string[];
      user?: string;
      privateKey?: string;
      keyFile?: string;
      become?: boolean;
      becomeUser?: string;
      becomeMethod?: string;
      timeout?: number;
      sshCommonArgs?: string;
      sshExtraArgs?: string;
      output?: string;
      server?: string;
      name?: string;
    }
  >();
  const inventory = o.inventory ?? ansible.inventory;
  if (inventory === undefined)
    throw new UsageError(
      "required option '-i, --inventory <inventory>' not specified (nor inventory in ansible.cfg's [defaults], nor $ANSIBLE_INVENTORY)",
      help,
    );
  const playRolesPath = (process.env.PLAY_ROLES_PATH ?? '').split(':').filter(Boolean);
  return {
    // doctor runs the whole site.yaml in check mode: what would change is drift. kubeconfig reads
    // the connection settings site.yaml gives the first server.
    playbook: mode === 'run' ? (cmd.args[0] ?? '') : 'site.yaml',
    doctor,
    ...(mode === 'kubeconfig' ? { kubeconfig: { output: o.output, server: o.server, name: o.name } } : {}),
    inventory,
    check: doctor || Boolean(o.check),
    diff: Boolean(o.diff),
    tags: o.tags ?? [],
    skipTags: o.skipTags ?? [],
    roles: o.role ?? [],
    limit: o.limit,
    extraVars: o.extraVars ?? [],
    forks: o.forks ?? ansible.forks,
    listHosts: Boolean(o.listHosts),
    listTasks: Boolean(o.listTasks),
    listTags: Boolean(o.listTags),
    syntaxCheck: Boolean(o.syntaxCheck),
    json: o.json,
    verbose: o.verbose ?? 0,
    acceptNewHostKeys: Boolean(o.acceptNewHostKeys),
    stopGraceSeconds: o.stopGrace ?? 10,
    rolesPath: o.rolesPath ?? (playRolesPath.length > 0 ? playRolesPath : (ansible.rolesPath ?? [])),
    vaultPasswordFiles: vaultFiles([...(o.vaultPasswordFile ?? []), ...(o.vaultPassFile ?? [])], ansible),
    askVaultPass: Boolean(o.askVaultPass),
    askPass: Boolean(o.askPass ?? ansible.askPass),
    askBecomePass: Boolean(o.askBecomePass ?? ansible.becomeAskPass),
    connection: {
      user: o.user ?? ansible.remoteUser,
      privateKey: o.privateKey ?? o.keyFile ?? ansible.privateKeyFile,
      timeout: o.timeout ?? ansible.timeout,
      sshCommonArgs: o.sshCommonArgs,
      sshExtraArgs: o.sshExtraArgs,
      become: Boolean(o.become ?? ansible.become),
      becomeUser: o.becomeUser ?? ansible.becomeUser,
      becomeMethod: o.becomeMethod ?? ansible.becomeMethod,
    },
  };
}

/** play's version, and what its roles install unless told otherwise: what a user reports in an issue. */
function versions(): string {
  const searchPath = rolePaths(join(installRoot, 'playbooks'));
  const installs = (role: string, variable: string): unknown =>
    roleVariables(join(installRoot, 'roles', role), searchPath).defaults.values[variable];
  return [
    playVersion,
    `K3s ${String(installs('k3s-config', 'k3s_version'))} (k3s_version)`,
    `MetalLB ${String(installs('metallb-install', 'metallb_version'))} (metallb_version)`,
  ].join('\n');
}

/** The vault password files named, else the one $ANSIBLE_VAULT_PASSWORD_FILE or ansible.cfg names. */
function vaultFiles(named: string[], ansible: AnsibleSettings): string[] {
  return named.length > 0 ? named : ansible.vaultPasswordFile ? [ansible.vaultPasswordFile] : [];
}

function positiveInt(v: string, option: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} expects a positive integer, got "${v}"`);
  return n;
}

/** The connection flags as the lowest layer of connection variables: the inventory's win, as in Ansible. */
export function connectionFlags(o: CliOptions, passwords: { ssh?: string; become?: string } = {}): VarLayer {
  const c = o.connection;
  const values = Object.fromEntries(
    Object.entries({
      ansible_user: c.user,
      ansible_ssh_private_key_file: c.privateKey,
      ansible_timeout: c.timeout,
      ansible_ssh_common_args: c.sshCommonArgs,
      ansible_ssh_extra_args: c.sshExtraArgs,
      ansible_become_user: c.becomeUser,
      ansible_become_method: c.becomeMethod,
      ansible_password: passwords.ssh,
      ansible_become_password: passwords.become,
    }).filter(([, v]) => v !== undefined),
  );
  const flag: Record<string, string> = { ansible_password: '-k', ansible_become_password: '-K' };
  return {
    label: 'the command line',
    values,
    locate: (p) => ({ file: `command line (${flag[String(p[0])] ?? String(p[0] ?? '')})` }),
  };
}
