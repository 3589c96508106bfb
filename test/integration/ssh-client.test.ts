import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { expect, it } from 'vitest';
import { describeLab, lab, onHostOk } from './lab-fixture.ts';
import { failures, labInventoryWith, motdOnW1, play } from './play-runner.ts';

/** The lab's inventory with its group_vars/all changed by `edit`. */
function inventoryEdited(edit: (vars: Record<string, unknown>) => Record<string, unknown>): string {
  const dir = labInventoryWith({});
  const file = join(dir, 'group_vars', 'all.yaml');
  writeFileSync(file, stringify(edit(parse(readFileSync(file, 'utf8')) as Record<string, unknown>)));
  return dir;
}

describeLab("the SSH client: bastions, agents, key files and ansible-playbook's connection flags", () => {
  it('ProxyJump through a lab host: w1 is reached through the edge', async () => {
    const inventory = inventoryEdited((v) => ({
      ...v,
      ansible_ssh_common_args: `${String(v.ansible_ssh_common_args)} -o ProxyJump=root@192.0.2.1`,
    }));
    const before = (
      await onHostOk(
        'w1',
        "journalctl -u ssh -q --no-pager | grep -c 'Accepted publickey for root from 192.0.2.1 ' || true",
      )
    ).trim();
    const r = await play([...motdOnW1('through-the-edge'), '-i', inventory]);
    expect(r.code, failures(r)).toBe(0);
    expect(await onHostOk('w1', 'cat /etc/motd')).toBe('w1: through-the-edge\n');
    // w1's sshd saw the run's connection come from the edge (192.0.2.1), not from the controller.
    const after = (
      await onHostOk(
        'w1',
        "journalctl -u ssh -q --no-pager | grep -c 'Accepted publickey for root from 192.0.2.1 ' || true",
      )
    ).trim();
    expect(Number(after)).toBe(Number(before) + 1);
  });

  it('an ssh option play does not implement is an input error at the variable, before any connection', async () => {
    const inventory = inventoryEdited((v) => ({
      ...v,
      ansible_ssh_common_args: `${String(v.ansible_ssh_common_args)} -o ForwardAgent=yes`,
    }));
    const r = await play([...motdOnW1('never'), '-i', inventory]);
    expect(r.code, failures(r)).toBe(6);
    expect(r.stderr).toMatch(
      /group_vars\/all\.yaml:\d+:\d+: ansible_ssh_common_args: ssh option ForwardAgent is not supported by play/,
    );
  });

  it('a private key readable by others is refused, as OpenSSH refuses it: an input error, before any connection', async () => {
    const key = join(mkdtempSync(join(tmpdir(), 'play-key-')), 'id');
    copyFileSync(lab().state.ssh.privateKey, key);
    chmodSync(key, 0o644);
    const r = await play([
      ...motdOnW1('never'),
      '-i',
      inventoryEdited((v) => ({ ...v, ansible_ssh_private_key_file: key })),
    ]);
    expect(r.code, failures(r)).toBe(6);
    expect(r.stderr).toMatch(
      /ansible_ssh_private_key_file: private key file .*\/id is readable by others \(mode 644\): like ssh, play will not use it; chmod 600 it/,
    );
  });

  it('a passphrase-protected default key is skipped for ssh-agent; -u and --private-key stand in for missing inventory settings', async () => {
    const home = mkdtempSync(join(tmpdir(), 'play-home-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    const own = join(home, '.ssh', 'id_ed25519');
    copyFileSync(lab().state.ssh.privateKey, own);
    chmodSync(own, 0o600);
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'a passphrase', '-P', '', '-f', own]);
    const bare = inventoryEdited(({ ansible_user: _u, ansible_ssh_private_key_file: _k, ...rest }) => rest);
    const agent = execFileSync('ssh-agent', ['-s'], { encoding: 'utf8' });
    const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(agent)?.[1] ?? '';
    const pid = /SSH_AGENT_PID=(\d+);/.exec(agent)?.[1] ?? '';
    try {
      execFileSync('ssh-add', ['-q', lab().state.ssh.privateKey], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const viaAgent = await play([...motdOnW1('agent'), '-i', bare, '-u', 'root'], {
        env: { HOME: home, SSH_AUTH_SOCK: sock },
      });
      expect(viaAgent.code, failures(viaAgent)).toBe(0);
      expect(await onHostOk('w1', 'cat /etc/motd')).toBe('w1: agent\n');
    } finally {
      execFileSync('kill', [pid]);
    }
    const flags = await play(
      [...motdOnW1('flags'), '-i', bare, '-u', 'root', '--private-key', lab().state.ssh.privateKey],
      { env: { HOME: home, SSH_AUTH_SOCK: '' } },
    );
    expect(flags.code, failures(flags)).toBe(0);
    expect(await onHostOk('w1', 'cat /etc/motd')).toBe('w1: flags\n');
  });
});
