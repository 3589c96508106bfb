import { askHidden } from './ask-hidden.ts';
import type { CliOptions } from './options.ts';

/**
 * The passwords -k and -K ask for, in ansible-playbook's order and words: an empty become
 * password after an SSH password means the same password, as Ansible takes it.
 */
export async function askConnectionPasswords(
  o: Pick<CliOptions, 'askPass' | 'askBecomePass'>,
): Promise<{ ssh?: string; become?: string }> {
  const ssh = o.askPass
    ? await askHidden(
        'SSH password: ',
        '-k (--ask-pass) needs a terminal; in scripts set ansible_password in a vaulted file',
      )
    : undefined;
  if (!o.askBecomePass) return ssh === undefined ? {} : { ssh };
  const become = await askHidden(
    ssh === undefined ? 'BECOME password: ' : 'BECOME password[defaults to SSH password]: ',
    '-K (--ask-become-pass) needs a terminal; in scripts set ansible_become_password in a vaulted file',
  );
  return { ...(ssh === undefined ? {} : { ssh }), become: become === '' && ssh !== undefined ? ssh : become };
}
