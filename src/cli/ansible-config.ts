import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { InputError } from '../input/errors.ts';
import { readText } from '../input/yaml-file.ts';

/**
 * The settings of ansible.cfg and `ANSIBLE_*` environment variables that play implements, as
 * ansible-playbook finds them (the command line wins, then the environment, then the file), and
 * the ones it does not, named once so that nothing a user configured for Ansible is ignored in
 * silence.
 */
export interface AnsibleSettings {
  inventory?: string;
  remoteUser?: string;
  privateKeyFile?: string;
  timeout?: number;
  forks?: number;
  rolesPath?: string[];
  vaultPasswordFile?: string;
  become?: boolean;
  becomeUser?: string;
  becomeMethod?: string;
  becomeAskPass?: boolean;
  askPass?: boolean;
  /** What play reads but does not use, to be said once. */
  unused: string[];
}

type Setting = Exclude<keyof AnsibleSettings, 'unused'>;

/** [section] key → setting, and the environment variable Ansible reads for it. */
const KNOWN: {
  section: string;
  key: string;
  env: string;
  setting: Setting;
  kind: 'path' | 'paths' | 'int' | 'bool' | 'text';
}[] = [
  { section: 'defaults', key: 'inventory', env: 'ANSIBLE_INVENTORY', setting: 'inventory', kind: 'path' },
  { section: 'defaults', key: 'remote_user', env: 'ANSIBLE_REMOTE_USER', setting: 'remoteUser', kind: 'text' },
  {
    section: 'defaults',
    key: 'private_key_file',
    env: 'ANSIBLE_PRIVATE_KEY_FILE',
    setting: 'privateKeyFile',
    kind: 'path',
  },
  { section: 'defaults', key: 'timeout', env: 'ANSIBLE_TIMEOUT', setting: 'timeout', kind: 'int' },
  { section: 'defaults', key: 'forks', env: 'ANSIBLE_FORKS', setting: 'forks', kind: 'int' },
  { section: 'defaults', key: 'roles_path', env: 'ANSIBLE_ROLES_PATH', setting: 'rolesPath', kind: 'paths' },
  {
    section: 'defaults',
    key: 'vault_password_file',
    env: 'ANSIBLE_VAULT_PASSWORD_FILE',
    setting: 'vaultPasswordFile',
    kind: 'path',
  },
  { section: 'privilege_escalation', key: 'become', env: 'ANSIBLE_BECOME', setting: 'become', kind: 'bool' },
  {
    section: 'privilege_escalation',
    key: 'become_user',
    env: 'ANSIBLE_BECOME_USER',
    setting: 'becomeUser',
    kind: 'text',
  },
  {
    section: 'privilege_escalation',
    key: 'become_method',
    env: 'ANSIBLE_BECOME_METHOD',
    setting: 'becomeMethod',
    kind: 'text',
  },
  {
    section: 'privilege_escalation',
    key: 'become_ask_pass',
    env: 'ANSIBLE_BECOME_ASK_PASS',
    setting: 'becomeAskPass',
    kind: 'bool',
  },
  { section: 'defaults', key: 'ask_pass', env: 'ANSIBLE_ASK_PASS', setting: 'askPass', kind: 'bool' },
];

/** Read by play for itself, or Ansible's own machinery: never "unused". */
const QUIET_ENV = new Set(['ANSIBLE_CONFIG']);

/** Where ansible-playbook looks for its configuration, the first found wins. */
function configFile(cwd: string, env: NodeJS.ProcessEnv): { file: string; note?: string } | undefined {
  if (env.ANSIBLE_CONFIG) return { file: resolve(cwd, env.ANSIBLE_CONFIG) };
  const here = resolve(cwd, 'ansible.cfg');
  // Ansible skips a config in a world-writable folder: anyone could have put it there.
  if (existsSync(here) && (statSync(cwd).mode & 0o002) !== 0)
    return { file: '', note: `${here} is in a world-writable folder: ignored, as Ansible ignores it` };
  for (const file of [here, resolve(homedir(), '.ansible.cfg'), '/etc/ansible/ansible.cfg'])
    if (existsSync(file)) return { file };
  return undefined;
}

/** configparser's INI as Ansible reads it: [section], `key = value` or `key: value`, `#`/`;` comments, indented continuations. */
function parseConfig(file: string, text: string): Map<string, { value: string; line: number }> {
  const out = new Map<string, { value: string; line: number }>();
  let section = '';
  let last: { value: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*([#;].*)?$/.test(line)) return;
    if (/^\s/.test(line) && last) {
      last.value += `\n${line.trim()}`;
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      section = (header[1] ?? '').trim();
      last = undefined;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!kv || !section) throw InputError.at({ file, line: i + 1 }, 'expected [section] or key = value');
    // Ansible's parser takes `;` after whitespace as the start of a comment (inline_comment_prefixes).
    last = { value: (kv[2] ?? '').replace(/\s;.*$/, '').trim(), line: i + 1 };
    out.set(`${section}\0${(kv[1] ?? '').trim().toLowerCase()}`, last);
  });
  return out;
}

const TRUE = ['true', 'yes', 'on', '1', 'y', 't'];
const FALSE = ['false', 'no', 'off', '0', 'n', 'f', ''];

function convert(kind: (typeof KNOWN)[number]['kind'], raw: string, base: string, where: string): unknown {
  const path = (p: string): string => (p.startsWith('~') ? resolve(homedir(), p.slice(2)) : resolve(base, p));
  if (kind === 'text') return raw;
  if (kind === 'path') return path(raw.split(',')[0]?.trim() ?? raw);
  if (kind === 'paths') return raw.split(':').filter(Boolean).map(path);
  if (kind === 'int') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1)
      throw new InputError([{ location: { file: where }, message: 'expected a whole number of at least 1' }]);
    return n;
  }
  const b = raw.toLowerCase();
  if (TRUE.includes(b)) return true;
  if (FALSE.includes(b)) return false;
  throw new InputError([{ location: { file: where }, message: 'expected a boolean (true/false, yes/no)' }]);
}

export function ansibleSettings(cwd: string, env: NodeJS.ProcessEnv = process.env): AnsibleSettings {
  const settings: AnsibleSettings = { unused: [] };
  const found = configFile(cwd, env);
  if (found?.note) settings.unused.push(found.note);
  if (found?.file) {
    const entries = parseConfig(found.file, readText(found.file));
    for (const k of KNOWN) {
      const e = entries.get(`${k.section}\0${k.key}`);
      if (!e) continue;
      entries.delete(`${k.section}\0${k.key}`);
      Object.assign(settings, {
        [k.setting]: convert(k.kind, e.value, dirname(found.file), `${found.file}:${e.line} ([${k.section}] ${k.key})`),
      });
    }
    const rest = [...entries.keys()].map((k) => {
      const [section, key] = k.split('\0');
      return `[${section}] ${key}`;
    });
    if (rest.length > 0) settings.unused.push(`${found.file}: play does not use ${rest.join(', ')}`);
  }
  for (const k of KNOWN) {
    const raw = env[k.env];
    if (raw !== undefined) Object.assign(settings, { [k.setting]: convert(k.kind, raw, cwd, `$${k.env}`) });
  }
  const unusedEnv = Object.keys(env)
    .filter((name) => name.startsWith('ANSIBLE_') && !QUIET_ENV.has(name) && !KNOWN.some((k) => k.env === name))
    .sort();
  if (unusedEnv.length > 0) settings.unused.push(`play does not use ${unusedEnv.map((n) => `$${n}`).join(', ')}`);
  return settings;
}
