import { createInterface } from 'node:readline/promises';
import { USER } from '../transport/connection-vars.ts';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../input/errors.ts';
import { VARS_SCHEMA_FILE } from '../docs/vars-schema.ts';
import { installRoot } from '../input/install-root.ts';

const EXAMPLES = { bgp: 'example-bgp', layer2: 'example-l2' } as const;
type Mode = keyof typeof EXAMPLES;

/**
 * `play init DIR --mode bgp|layer2`: a starting inventory in the user's own repository, from the
 * example play ships for that mode, with a BGP password of its own (never the example's).
 */
export async function init(argv: string[], cwd: string, print: (s: string) => void): Promise<void> {
  const cmd = new Command('play init')
    .description('Write a commented starting inventory for a cluster in BGP or layer2 mode.')
    .argument('<dir>', 'the inventory directory to create (it must not exist, or be empty)')
    .addOption(
      new Option('--mode <mode>', 'how Services get their addresses announced')
        .choices(Object.keys(EXAMPLES))
        .makeOptionMandatory(),
    )
    .option(
      '--user <name>',
      'the user your provider gave you to log in as (root, or a sudo user such as debian); not root means become: sudo. Asked on a terminal; root elsewhere',
    )
    .exitOverride()
    .configureOutput({ writeOut: print, writeErr: () => undefined });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && e.code === 'commander.helpDisplayed') return;
    if (e instanceof CommanderError) throw new UsageError(e.message.replace(/^error: /, ''), 'play init --help');
    throw e;
  }
  const dir = resolve(cwd, cmd.args[0] ?? '');
  const { mode, user = await askUser() } = cmd.opts<{ mode: Mode; user?: string }>();
  if (!new RegExp(USER).test(user)) throw new UsageError(`--user ${user}: not a user name`, 'play init --help');
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new UsageError(
      `${dir} is not empty: play init writes a new inventory, it never overwrites one`,
      'play init --help',
    );
  cpSync(join(installRoot, 'inventory', EXAMPLES[mode]), dir, { recursive: true });
  const hosts = join(dir, 'hosts.yaml');
  writeFileSync(hosts, `${header(mode)}${readFileSync(hosts, 'utf8')}`);
  const vars = join(dir, 'group_vars', 'all.yaml');
  // A password everyone can read in play's examples is no password; nor is one in a file anyone
  // on the workstation can read.
  // Editors that read yaml-language-server modelines complete and check the variables as typed.
  // Relative where play is a package of the same project (node_modules), so the line holds on every clone.
  const installed = join(installRoot, VARS_SCHEMA_FILE);
  const inside = (path: string): boolean => !relative(cwd, path).startsWith('..');
  const schema = inside(installRoot) && inside(dir) ? relative(dirname(vars), installed) : installed;
  const login =
    user === 'root'
      ? 'ansible_user: root'
      : `ansible_user: ${user}\nansible_become: true           # ${user} runs play's commands through sudo`;
  const given = `# yaml-language-server: $schema=${schema}\n${readFileSync(vars, 'utf8')}`.replace(
    /^ansible_user: root$/m,
    login,
  );
  const withPassword = given.replace(/^(\s*password: )\S+/m, `$1${randomBytes(12).toString('base64url')}`);
  writeFileSync(vars, withPassword);
  if (withPassword !== given) chmodSync(vars, 0o600);
  const shown = relative(cwd, dir) || '.';
  const secretNote =
    withPassword === given
      ? ''
      : `\ngroup_vars/all.yaml holds the BGP password generated for it, so only you may read it (mode 0600);
  keep it out of version control, or encrypt it with \`ansible-vault encrypt_string\``;
  const play = command();
  print(`wrote ${shown}/ (${mode} mode): hosts.yaml and group_vars/all.yaml${secretNote}
next: put your hosts' addresses in hosts.yaml and your pools in group_vars/all.yaml, then
  ${play} site.yaml -i ${shown} --check --diff    # what would change, nothing is touched
  ${play} site.yaml -i ${shown}                   # apply (add -k and/or -K where a password is asked)
  ${play} doctor -i ${shown}                      # check the live cluster`);
}

/**
 * What the user types to run play: `npx play` where play is a package of their project (run
 * through npx, or installed under a node_modules folder), `play` where it is on their PATH.
 */
export function command(env: NodeJS.ProcessEnv = process.env, root: string = installRoot): string {
  return env.npm_command === 'exec' || root.split(sep).includes('node_modules') ? 'npx play' : 'play';
}

const header = (
  mode: Mode,
): string => `# Written by \`play init --mode ${mode}\`: the article's ${mode === 'bgp' ? 'BGP' : 'layer2'} setup, to adapt.
# Every variable is documented in play's docs/variables.md; \`play site.yaml -i DIR --syntax-check\`
# checks this inventory without contacting a host.
`;

/** The login user, asked on a terminal as providers differ (root, debian, ubuntu); root elsewhere. */
async function askUser(): Promise<string> {
  if (!process.stdin.isTTY) return 'root';
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      'Which user does your provider give you to log in (root, or a sudo user such as debian)? [root] ',
    );
    return answer.trim() || 'root';
  } finally {
    rl.close();
  }
}
