import { appendFileSync, cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countingHosts } from './counting-hosts.ts';

// Ansible settings play does not implement were accepted in silence (issue 26): `ansible_ssh_user:
// debian` and play connected as root. Each is refused at its line, before any host is contacted.
const { inventoryWith, play, connections } = countingHosts();

const allVars = (text: string) => (d: string) => appendFileSync(join(d, 'group_vars/all.yaml'), text);
const hostVars = (text: string) => (d: string) => writeFileSync(join(d, 'group_vars/edge.yaml'), text);

const CASES: [string, (d: string) => void, RegExp][] = [
  [
    'ansible_ssh_user (the old name of ansible_user)',
    allVars('ansible_ssh_user: debian\n'),
    /group_vars\/all\.yaml:\d+:\d+: ansible_ssh_user: play does not support ansible_ssh_user: the old name of ansible_user: rename it ansible_user/,
  ],
  [
    'ansible_connection: local',
    hostVars('ansible_connection: local\n'),
    /group_vars\/edge\.yaml:1:\d+: ansible_connection: play connects over SSH only/,
  ],
  [
    'ansible_sudo_pass (the old name of ansible_become_password)',
    allVars('ansible_sudo_pass: hunter2-secret\n'),
    /ansible_sudo_pass: play does not support ansible_sudo_pass: the old name of ansible_become_password/,
  ],
  [
    'a password of two lines (it is sent as one line)',
    allVars('ansible_become_password: "hunter2-secret\\nhunter2-secret"\n'),
    /group_vars\/all\.yaml:\d+:\d+: ansible_become_password: /,
  ],
  [
    'ansible_become_method: su without a password',
    hostVars('ansible_become_method: su\nansible_user: debian\n'),
    /ansible_become_method: su asks for the password of root: set ansible_become_password \(in a vaulted file\) or run with -K/,
  ],
  [
    'ansible_become_method: doas',
    allVars('ansible_become_method: doas\n'),
    /ansible_become_method: must be one of sudo, su|ansible_become_method: .*sudo.*su/,
  ],
  [
    'ansible_become_flags',
    allVars('ansible_become_flags: -E\n'),
    /ansible_become_flags: play does not support ansible_become_flags: play runs sudo and su with flags of its own/,
  ],
  [
    'the typo ansible_hosts',
    hostVars('ansible_hosts: 192.0.2.1\n'),
    /group_vars\/edge\.yaml:1:\d+: ansible_hosts: not an Ansible variable play reads \(did you mean "ansible_host"\?\)/,
  ],
  [
    'ansible_group_priority in a group_vars file (Ansible reads it only in the inventory)',
    hostVars('ansible_group_priority: 5\n'),
    /ansible_group_priority: ansible_group_priority works only in a group's vars: in the inventory file/,
  ],
];

describe('Ansible settings play does not implement are refused where they are set, with no host contacted', () => {
  it.each(CASES)('%s', async (_what, prepare, message) => {
    const before = connections();
    const r = await play(['-i', inventoryWith(prepare)]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain('hunter2-secret');
    expect(connections() - before).toBe(0);
  });

  it('settings play implements as Ansible means them (passwords and su among them), and ansible_python_interpreter, pass', async () => {
    // example-bgp's own addresses: the edge's checks need the peer it names.
    const dir = mkdtempSync(join(tmpdir(), 'play-settings-'));
    cpSync(join(import.meta.dirname, '../../inventory/example-bgp'), dir, { recursive: true });
    allVars(
      'ansible_connection: ssh\nansible_become_method: su\nansible_become_password: 1234\nansible_password: pw\nansible_python_interpreter: /usr/bin/python3\n',
    )(dir);
    const r = await play(['-i', dir, '--syntax-check']);
    expect(r.code, r.stderr).toBe(0);
  });
});
