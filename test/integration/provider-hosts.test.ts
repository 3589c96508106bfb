import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeLab, lab, onHost, onHostOk } from './lab-fixture.ts';
import {
  failures,
  labInventoryWith,
  labInventoryWithHostVars,
  motdOnW1,
  play,
  playOnTerminal,
  type PlayRun,
} from './play-runner.ts';

// Providers hand out a root password, or a user whose sudo asks for a password (issue 26). Each
// way in is set up on w1 as a provider would, and play writes /etc/motd as root through it.
const SUDO_PW = 'Sudo-pass-4f1e9';
const ROOT_PW = 'Root-pass-7c2d3';
const LOGIN_PW = 'Login-pass-9b8a6';
const SECRETS = [SUDO_PW, ROOT_PW, LOGIN_PW, 'Wrong-pass-000'];

const motdNow = async (): Promise<string> => onHostOk('w1', 'cat /etc/motd; stat -c %U /etc/motd');

/** The motd role on w1, connecting and becoming with these settings. */
const motdAs = (vars: Record<string, unknown>, text: string): Promise<PlayRun> =>
  play([...motdOnW1(text), '-i', labInventoryWithHostVars('w1', vars)]);

function expectNoSecret(r: PlayRun): void {
  const all = `${r.stdout}${r.stderr}${JSON.stringify(r.report)}`;
  for (const s of SECRETS) expect(all).not.toContain(s);
}

describeLab('become and passwords as Ansible has them, on hosts set up as providers hand them out', () => {
  beforeAll(async () => {
    const pub = readFileSync(`${lab().state.ssh.privateKey}.pub`, 'utf8').trim();
    const withKey = (u: string) =>
      `install -d -m 700 -o ${u} -g ${u} /home/${u}/.ssh && printf '%s\\n' '${pub}' > /home/${u}/.ssh/authorized_keys && chown ${u}: /home/${u}/.ssh/authorized_keys`;
    await onHostOk(
      'w1',
      [
        ...['sudopw', 'plain', 'pwonly'].map((u) => `(id ${u} >/dev/null 2>&1 || useradd -m -s /bin/bash ${u})`),
        `printf '%s\\n' 'sudopw:${SUDO_PW}' 'root:${ROOT_PW}' 'pwonly:${LOGIN_PW}' | chpasswd`,
        withKey('sudopw'),
        withKey('plain'),
        // sudo as providers set it up for their `debian` user: every command asks for the password.
        "printf '%s\\n' 'sudopw ALL=(ALL:ALL) ALL' 'pwonly ALL=(ALL:ALL) ALL' > /etc/sudoers.d/pw && chmod 440 /etc/sudoers.d/pw",
      ].join(' && '),
    );
  });

  it('sudo that asks for a password: ansible_become_password answers it; a wrong one fails, saying so', async () => {
    const ok = await motdAs(
      {
        ansible_user: 'sudopw',
        ansible_become: true,
        ansible_become_password: SUDO_PW,
      },
      'via-sudo-pw',
    );
    expect(ok.code, failures(ok)).toBe(0);
    // The file's content travels on the command's stdin, after the password: it arrived whole.
    expect(await motdNow()).toBe('w1: via-sudo-pw\nroot\n');
    expectNoSecret(ok);

    const wrong = await motdAs(
      {
        ansible_user: 'sudopw',
        ansible_become: true,
        ansible_become_password: 'Wrong-pass-000',
      },
      'wrong-pw',
    );
    expect(wrong.code, failures(wrong)).toBe(2);
    expect(wrong.stdout).toContain('the become password was refused (ansible_become_password or -K)');
    expectNoSecret(wrong);
    expect(await motdNow()).toBe('w1: via-sudo-pw\nroot\n');
  });

  it("su with root's password (ansible_become_method: su)", async () => {
    const ok = await motdAs(
      {
        ansible_user: 'plain',
        ansible_become: true,
        ansible_become_method: 'su',
        ansible_become_password: ROOT_PW,
      },
      'via-su',
    );
    expect(ok.code, failures(ok)).toBe(0);
    expect(await motdNow()).toBe('w1: via-su\nroot\n');
    expectNoSecret(ok);

    const wrong = await motdAs(
      {
        ansible_user: 'plain',
        ansible_become: true,
        ansible_become_method: 'su',
        ansible_become_password: 'Wrong-pass-000',
      },
      'wrong-su',
    );
    expect(wrong.code, failures(wrong)).toBe(2);
    expect(wrong.stdout).toMatch(/the become password was refused[\s\S]*su: Authentication failure/);
    expectNoSecret(wrong);
  });

  it('a host that takes a password only: ansible_password logs in, -k and -K ask on the terminal', async () => {
    const ok = await motdAs(
      {
        ansible_user: 'pwonly',
        ansible_password: LOGIN_PW,
        ansible_become: true,
        ansible_become_password: LOGIN_PW,
      },
      'via-password-login',
    );
    expect(ok.code, failures(ok)).toBe(0);
    expect(await motdNow()).toBe('w1: via-password-login\nroot\n');
    expectNoSecret(ok);

    // As ansible-playbook asks: an empty become password is the SSH password.
    const asked = await playOnTerminal(
      [
        ...motdOnW1('via-k-K'),
        '-i',
        labInventoryWithHostVars('w1', { ansible_user: 'pwonly', ansible_become: true }),
        '-k',
        '-K',
      ],
      [
        ['SSH password: ', LOGIN_PW],
        ['BECOME password[defaults to SSH password]: ', ''],
      ],
    );
    expect(asked.code, asked.output).toBe(0);
    expect(asked.output).not.toContain(LOGIN_PW);
    expect(await motdNow()).toBe('w1: via-k-K\nroot\n');
  });

  it('a password is never sent to a host whose key is not known: the login is refused before it', async () => {
    // Where the journal stands now, exactly: a time in whole seconds also took in the end of the
    // earlier test's sessions.
    const cursor = /-- cursor: (\S+)/.exec(await onHostOk('w1', 'journalctl -u ssh -n 0 --show-cursor'))?.[1] ?? '';
    expect(cursor).not.toBe('');
    const emptyKnownHosts = join(mkdtempSync(join(tmpdir(), 'play-kh-')), 'known_hosts');
    writeFileSync(emptyKnownHosts, '');
    const r = await play([
      ...motdOnW1('never'),
      '-i',
      labInventoryWithHostVars('w1', {
        ansible_user: 'pwonly',
        ansible_password: LOGIN_PW,
        ansible_ssh_common_args: `-o UserKnownHostsFile=${emptyKnownHosts} -o StrictHostKeyChecking=yes`,
      }),
    ]);
    expect(r.code, failures(r)).toBe(4);
    expect(r.stdout + r.stderr).toMatch(/unknown host key for \S+: ssh-ed25519 SHA256:/);
    expectNoSecret(r);
    // sshd saw no login attempt at all: the connection ended during the key exchange. (The
    // journal does show password logins: the earlier test's.)
    const journal = (s: string) => onHostOk('w1', `journalctl -u ssh ${s} -o cat --no-pager`);
    expect(await journal('')).toMatch(/Accepted password for pwonly/);
    expect(await journal(`--after-cursor '${cursor}'`)).not.toMatch(/password|pwonly/i);
  });
});

describeLab('host prerequisites: a host that is not what the roles need fails first, saying why', () => {
  const sysctlOnW2 = () => play(['site.yaml', '-i', labInventoryWith({}), '--role', 'sysctl', '-l', 'w2']);
  const sysctlFile = '/etc/sysctl.d/99-k3s-metallb.conf';

  it('not Debian-family (os-release of another distribution): nothing runs on it', async () => {
    await onHostOk(
      'w2',
      `rm -f ${sysctlFile} && mv /etc/os-release /etc/os-release.play-test && printf '%s\\n' 'ID=alpine' 'PRETTY_NAME="Alpine Linux v3.20"' > /etc/os-release`,
    );
    try {
      const r = await sysctlOnW2();
      expect(r.code, failures(r)).toBe(2);
      expect(r.stdout).toContain(
        "host prerequisites: FAILED: not a Debian-family host (Alpine Linux v3.20): play's roles install with apt and dpkg",
      );
      expect(r.report?.results.map((t) => `${t.task} ${t.status}`)).toEqual(['host prerequisites failed']);
      expect((await onHost('w2', `test -e ${sysctlFile}`)).exitCode).toBe(1);
    } finally {
      await onHostOk('w2', 'mv -f /etc/os-release.play-test /etc/os-release');
    }
  });

  it('a program a role runs is missing: named', async () => {
    await onHostOk('w2', 'mv /usr/sbin/sysctl /usr/sbin/sysctl.play-test');
    try {
      const r = await sysctlOnW2();
      expect(r.code, failures(r)).toBe(2);
      expect(r.stdout).toContain("host prerequisites: FAILED: missing sysctl on the PATH the roles' commands run with");
    } finally {
      await onHostOk('w2', 'mv /usr/sbin/sysctl.play-test /usr/sbin/sysctl');
    }
    const ok = await sysctlOnW2();
    expect(ok.code, failures(ok)).toBe(0);
  });
});
