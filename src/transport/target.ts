import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Vars } from '../inventory/variables.ts';
import { parseSshArgs } from './ssh-args.ts';
import type { Become, BecomeMethod } from './become.ts';
import type { ConnectionTarget } from './ssh.ts';

/** Known hosts are read from these, after the inventory's own file; new keys go to the first. */
const USER_KNOWN_HOSTS = (): string => join(homedir(), '.ssh', 'known_hosts');
const SYSTEM_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

/** `~/x` as the shell expands it, then absolute (relative to the working directory, as ssh takes it). */
export const expandHome = (path: string): string => resolve(path.replace(/^~(?=\/)/, homedir()));

/**
 * Reads Ansible's connection variables for one host. `ansible_*` variables win over the same
 * setting in `ansible_ssh_common_args`/`ansible_ssh_extra_args` (checked by connection-vars.ts).
 */
export function connectionTarget(host: string, vars: Vars, acceptNewHostKeys: boolean): ConnectionTarget {
  const str = (k: string): string | undefined =>
    vars[k] === undefined || vars[k] === null ? undefined : String(vars[k]);
  const { args } = parseSshArgs(`${str('ansible_ssh_common_args') ?? ''} ${str('ansible_ssh_extra_args') ?? ''}`);
  const key = str('ansible_ssh_private_key_file') ?? str('ansible_private_key_file') ?? args.identityFile;
  const user = str('ansible_user') ?? args.user ?? userInfo().username;
  const secret = password(vars, SSH_PASSWORD);
  const knownHostsFiles = [
    ...(args.knownHostsFile ? [expandHome(args.knownHostsFile)] : []),
    USER_KNOWN_HOSTS(),
    SYSTEM_KNOWN_HOSTS,
  ];
  return {
    host,
    address: str('ansible_host') ?? host,
    port: Number(str('ansible_port') ?? args.port ?? 22),
    user,
    privateKeyFile: key === undefined ? undefined : expandHome(key),
    ...(secret === undefined ? {} : { password: secret }),
    knownHostsFiles,
    acceptNewHostKeys: acceptNewHostKeys || args.strictHostKeyChecking === 'accept-new',
    connectTimeoutMs: Number(str('ansible_timeout') ?? args.connectTimeout ?? 10) * 1000,
    commandTimeoutMs: Number(str('ansible_command_timeout') ?? 600) * 1000,
    ...(args.proxyJump ? { jump: jumpHost(args.proxyJump, user) } : {}),
  };
}

/** `[user@]host[:port]` of a ProxyJump; the user defaults to the target's, as ssh does. */
function jumpHost(spec: string, targetUser: string): { address: string; port: number; user: string } {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(spec);
  return { user: m?.[1] ?? targetUser, address: (m?.[2] ?? spec).replace(/^\[|\]$/g, ''), port: Number(m?.[3] ?? 22) };
}

/** Ansible's names for the login password and the become password, the first set wins. */
export const SSH_PASSWORD = ['ansible_password', 'ansible_ssh_pass'];
export const BECOME_PASSWORD = ['ansible_become_password', 'ansible_become_pass'];

/** A password variable's value: any scalar, as Ansible takes `ansible_password: 1234`. */
export function password(vars: Vars, names: string[]): string | undefined {
  const value = names.map((n) => vars[n]).find((v) => v !== undefined && v !== null);
  return value === undefined ? undefined : String(value);
}

/** The play's `become` applies unless the host's `ansible_become` says otherwise, as in Ansible. */
export function becomeFor(vars: Vars, playBecome: boolean | undefined): Become {
  const secret = password(vars, BECOME_PASSWORD);
  return {
    become: truthy(vars.ansible_become ?? playBecome ?? false),
    user: String(vars.ansible_user ?? userInfo().username),
    becomeUser: String(vars.ansible_become_user ?? 'root'),
    method: (vars.ansible_become_method ?? 'sudo') as BecomeMethod,
    ...(secret === undefined ? {} : { password: secret }),
  };
}

/** The user a host's commands end up running as. */
export function runsAs(b: Become): string {
  return b.become ? b.becomeUser : b.user;
}

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|yes|1)$/i.test(v)) || v === 1;
