import type { InputProblem } from '../input/errors.ts';
import { didYouMean } from '../input/schema-check.ts';
import { locateVar, type ResolvedVar } from '../inventory/variables.ts';

/**
 * Ansible's behavioural variables (`ansible_*`) play does not implement. Each would otherwise be
 * read by nobody: `ansible_ssh_user: debian` left play connecting as root, a password was never
 * tried. Set anywhere (inventory, play vars, -e), each is refused at its line with what to do.
 */
const NOT_IMPLEMENTED: Record<string, string> = {
  ansible_ssh_user: 'the old name of ansible_user: rename it ansible_user',
  ansible_ssh_host: 'the old name of ansible_host: rename it ansible_host',
  ansible_ssh_port: 'the old name of ansible_port: rename it ansible_port',
  ansible_sudo_pass: 'the old name of ansible_become_password: rename it ansible_become_password',
  ansible_sudo: 'the old name of ansible_become: rename it ansible_become',
  ansible_sudo_user: 'the old name of ansible_become_user: rename it ansible_become_user',
  ansible_become_exe: 'play runs sudo or su as the host finds them on its PATH',
  ansible_become_flags: 'play runs sudo and su with flags of its own (-H, -S or -n)',
  ansible_ssh_executable: 'play speaks SSH itself (ssh2), without an ssh program',
  ansible_ssh_pipelining: 'play always runs a task in one SSH session: there is nothing to switch on',
  ansible_pipelining: 'play always runs a task in one SSH session: there is nothing to switch on',
  ansible_host_key_checking: 'play always checks host keys: use --accept-new-host-keys on a first run',
  ansible_shell_type: 'play runs POSIX sh on Debian-family hosts',
  ansible_shell_executable: 'play runs POSIX sh on Debian-family hosts',
  ansible_sftp_extra_args: 'play copies files over its own SSH session, not with sftp',
  ansible_scp_extra_args: 'play copies files over its own SSH session, not with scp',
  ansible_network_os: 'play manages Debian-family hosts, not network devices',
};

/** Settings play implements for one value only: any other value is refused, saying which it is. */
const ONLY: Record<string, { values: unknown[]; message: string }> = {
  ansible_connection: { values: ['ssh', 'smart'], message: 'play connects over SSH only (ansible_connection: ssh)' },
};

/**
 * Accepted and unused: they change nothing play does. A shared inventory may keep them for
 * Ansible. (`ansible_group_priority` is read by the inventory where Ansible reads it.)
 */
const UNUSED = new Set(['ansible_python_interpreter']);

/**
 * Every `ansible_*` variable a host's settings hold that play does not read, or reads with
 * another meaning, located where it was set: the nearest implemented name for a typo
 * (`ansible_hosts`), what to do instead for a known Ansible setting.
 */
export function ansibleVariableProblems(resolved: Map<string, ResolvedVar>, implemented: string[]): InputProblem[] {
  const problems: InputProblem[] = [];
  for (const [name, entry] of resolved) {
    if (!name.startsWith('ansible_') || implemented.includes(name) || UNUSED.has(name)) continue;
    const at = { location: locateVar(resolved, [name]), keyPath: name };
    const only = ONLY[name];
    if (only) {
      if (!only.values.includes(entry.value)) problems.push({ ...at, message: only.message });
      continue;
    }
    const known = NOT_IMPLEMENTED[name];
    if (known) problems.push({ ...at, message: `play does not support ${name}: ${known}` });
    else if (name === 'ansible_group_priority')
      problems.push({
        ...at,
        message:
          "ansible_group_priority works only in a group's vars: in the inventory file, as in Ansible (in group_vars files it is an unused variable)",
      });
    else
      problems.push({
        ...at,
        message: `not an Ansible variable play reads${didYouMean(name, [...implemented, ...Object.keys(ONLY)])}; play reads ${implemented.join(', ')}`,
      });
  }
  return problems;
}
