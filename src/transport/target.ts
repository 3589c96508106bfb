import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Vars } from '../inventory/variables.ts';
import type { ConnectionTarget } from './ssh.ts';

export interface Become {
  become: boolean;
  user: string;
  becomeUser: string;
}

/** Reads Ansible's connection variables for one host. */
export function connectionTarget(host: string, vars: Vars, acceptNewHostKeys: boolean): ConnectionTarget {
  const str = (k: string): string | undefined => (vars[k] === undefined || vars[k] === null ? undefined : String(vars[k]));
  const inventoryKnownHosts = sshOption(`${str('ansible_ssh_common_args') ?? ''} ${str('ansible_ssh_extra_args') ?? ''}`, 'UserKnownHostsFile');
  const userKnownHosts = join(homedir(), '.ssh', 'known_hosts');
  const key = str('ansible_ssh_private_key_file') ?? str('ansible_private_key_file');
  return {
    host,
    address: str('ansible_host') ?? host,
    port: Number(str('ansible_port') ?? 22),
    user: str('ansible_user') ?? userInfo().username,
    privateKeyFile: key === undefined ? undefined : resolve(key.replace(/^~(?=\/)/, homedir())),
    knownHostsFiles: inventoryKnownHosts ? [resolve(inventoryKnownHosts), userKnownHosts] : [userKnownHosts],
    acceptNewHostKeys,
    connectTimeoutMs: Number(str('ansible_timeout') ?? 10) * 1000,
    commandTimeoutMs: Number(str('ansible_command_timeout') ?? 600) * 1000,
  };
}

/** The play's `become` applies unless the host's `ansible_become` says otherwise, as in Ansible. */
export function becomeFor(vars: Vars, playBecome: boolean | undefined): Become {
  return {
    become: truthy(vars.ansible_become ?? playBecome ?? false),
    user: String(vars.ansible_user ?? userInfo().username),
    becomeUser: String(vars.ansible_become_user ?? 'root'),
  };
}

/** The user a host's commands end up running as. */
export function runsAs(b: Become): string {
  return b.become ? b.becomeUser : b.user;
}

/** `-o Name=value` or `-oName=value` or `-o Name value`, as ssh takes them. */
function sshOption(args: string, name: string): string | undefined {
  const re = new RegExp(`-o\\s*${name}[=\\s]\\s*("[^"]+"|'[^']+'|\\S+)`, 'i');
  const m = re.exec(args);
  return m?.[1]?.replace(/^["']|["']$/g, '');
}

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|yes|1)$/i.test(v)) || v === 1;
