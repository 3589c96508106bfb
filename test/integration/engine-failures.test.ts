import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { beforeEach, expect, it } from 'vitest';
import { fingerprint } from '../../src/transport/known-hosts.ts';
import { describeLab, eventually, lab, onHost, onHostOk } from './lab-fixture.ts';
import {
  failures,
  fixturePlaybook,
  labInventoryWith,
  labInventoryWithHostVars,
  motdOnW1,
  play,
} from './play-runner.ts';

const SLOW = '/var/tmp/play-slow';

const waitFor = (what: string, check: () => Promise<boolean>) =>
  eventually(what, check, (v) => v, { timeoutMs: 30_000, intervalMs: 100 });

const started = (host: string) => async () => (await onHost(host, `test -e ${SLOW}/started`)).exitCode === 0;
const inController = (cmd: string[]) => $({ quiet: true })`ip netns exec ${lab().names.controller} ${cmd}`;

/** known_hosts line of a lab host: `names type base64`. */
function hostKeyLine(host: string): string {
  const line = readFileSync(lab().state.ssh.knownHosts, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${host},`));
  if (!line) throw new Error(`no known_hosts line for ${host}`);
  return line;
}

describeLab('play when hosts fail, vanish or are not who they claim', () => {
  beforeEach(async () => {
    await Promise.all(['cp1', 'w1', 'w2'].map((h) => onHostOk(h, `rm -rf ${SLOW} /var/tmp/play-fail`)));
  });

  it('a host cut off mid-run is reported unreachable while the others finish', async () => {
    const inventory = labInventoryWith({ ansible_timeout: 2 });
    const run = play([fixturePlaybook('slow.yaml'), '-i', inventory, '-l', 'w1:w2']);
    try {
      await waitFor('both hosts to start', async () => (await started('w1')()) && (await started('w2')()));
      await inController(['ip', 'link', 'set', 'v-w2', 'down']);
      await onHostOk('w1', `touch ${SLOW}/go`);
      const r = await run;
      expect(r.code, failures(r)).toBe(4);
      expect(r.report?.recap.w1).toMatchObject({ changed: 3, failed: 0, unreachable: 0 });
      expect(r.report?.recap.w2).toMatchObject({ unreachable: 1, failed: 0 });
      expect(r.stdout).toMatch(/\[w2\] slow \| wait for go: UNREACHABLE: connection to 192\.0\.2\.13 lost/);
      expect(await onHostOk('w1', `cat ${SLOW}/after`)).toBe('done\n');
    } finally {
      await inController(['ip', 'link', 'set', 'v-w2', 'up']);
    }
    expect((await onHost('w2', `test -e ${SLOW}/after`)).exitCode).toBe(1);
  });

  it('a failing host stops its own tasks; the others go on; exit code 2', async () => {
    await onHostOk('w1', 'touch /var/tmp/play-fail');
    await onHostOk('w2', 'mkdir -p /var/tmp/play-fail && touch /var/tmp/play-fail/go');
    const r = await play([
      fixturePlaybook('slow.yaml'),
      '-i',
      lab().state.inventory,
      '-l',
      'w1:w2',
      '-e',
      'slow_dir=/var/tmp/play-fail',
    ]);
    expect(r.code, failures(r)).toBe(2);
    expect(r.stdout).toMatch(/\[w1\] slow \| marks: FAILED: \/var\/tmp\/play-fail exists and is not a directory/);
    expect(r.report?.results.filter((t) => t.host === 'w1').map((t) => t.status)).toEqual(['failed']);
    expect(r.report?.recap.w2).toMatchObject({ failed: 0, changed: 2 });
  });

  it('serial runs one batch after another; any_errors_fatal stops the play at the first failure', async () => {
    await Promise.all(
      ['w1', 'w2'].map((h) => onHostOk(h, 'mkdir -p /var/tmp/play-fail && touch /var/tmp/play-fail/go')),
    );
    const ok = await play([
      fixturePlaybook('serial.yaml'),
      '-i',
      lab().state.inventory,
      '-e',
      'slow_dir=/var/tmp/play-fail',
    ]);
    expect(ok.code, failures(ok)).toBe(0);
    const hostsInOrder = ok.report?.results.map((r) => r.host) ?? [];
    expect(hostsInOrder.join(' ')).toMatch(/^(w1 )+(w2 ?)+$/);

    await onHostOk('w1', 'rm -rf /var/tmp/play-fail && touch /var/tmp/play-fail');
    await onHostOk('w2', 'rm -rf /var/tmp/play-fail');
    const fatal = await play([
      fixturePlaybook('serial.yaml'),
      '-i',
      lab().state.inventory,
      '-e',
      'slow_dir=/var/tmp/play-fail',
    ]);
    expect(fatal.code, failures(fatal)).toBe(2);
    expect(fatal.report?.results.map((r) => `${r.host} ${r.status}`)).toEqual(['w1 failed']);
    expect((await onHost('w2', 'test -e /var/tmp/play-fail')).exitCode).toBe(1);
  });

  it('Ctrl-C starts no new task, lets running ones finish, prints the recap and exits 99', async () => {
    let child: { kill: (s: NodeJS.Signals) => boolean } | undefined;
    const run = play([fixturePlaybook('slow.yaml'), '-i', lab().state.inventory, '-l', 'w1:w2'], {
      started: (c) => (child = c),
    });
    await waitFor('both hosts to start', async () => (await started('w1')()) && (await started('w2')()));
    child?.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(['w1', 'w2'].map((h) => onHostOk(h, `touch ${SLOW}/go`)));
    const r = await run;
    expect(r.code, failures(r)).toBe(99);
    expect(r.stdout).toMatch(/INTERRUPTED/);
    expect(r.stdout).toMatch(/RECAP\n(w1|w2)\s+ok=/);
    expect(r.report?.interrupted).toBe(true);
    for (const h of ['w1', 'w2']) expect(await onHostOk(h, `ls -A ${SLOW}`)).toBe('go\nstarted\n');
  });

  it('an unknown host key is refused with its fingerprint; --accept-new-host-keys records it', async () => {
    const inventory = labInventoryWith({});
    const knownHosts = join(inventory, 'known_hosts');
    writeFileSync(knownHosts, '');
    const vars = join(inventory, 'group_vars', 'all.yaml');
    writeFileSync(
      vars,
      readFileSync(vars, 'utf8').replace(/UserKnownHostsFile=\S+/, `UserKnownHostsFile=${knownHosts}`),
    );
    const args = [...motdOnW1('keys'), '-i', inventory];
    const [, , blob = ''] = hostKeyLine('w1').split(' ');
    const fp = fingerprint(Buffer.from(blob, 'base64'));

    const refused = await play(args);
    expect(refused.code, failures(refused)).toBe(4);
    expect(refused.stdout).toContain(`UNREACHABLE: unknown host key for 192.0.2.12: ssh-ed25519 ${fp}`);
    expect(await onHostOk('w1', 'cat /etc/motd')).not.toBe('w1: keys\n');

    // Connections open while the input is checked; bad input must not record the key meanwhile.
    const badInput = await play([...args, '--accept-new-host-keys', '--tags', 'nosuch']);
    expect(badInput.code, failures(badInput)).toBe(6);
    expect(readFileSync(knownHosts, 'utf8')).toBe('');

    const accepted = await play([...args, '--accept-new-host-keys']);
    expect(accepted.code, failures(accepted)).toBe(0);
    expect(readFileSync(knownHosts, 'utf8')).toBe(`192.0.2.12 ssh-ed25519 ${blob}\n`);
    expect(await onHostOk('w1', 'cat /etc/motd')).toBe('w1: keys\n');

    const [, , otherBlob = ''] = hostKeyLine('w2').split(' ');
    writeFileSync(knownHosts, `192.0.2.12 ssh-ed25519 ${otherBlob}\n`);
    const changed = await play([...args, '--accept-new-host-keys', '-e', 'motd_text=never']);
    expect(changed.code, failures(changed)).toBe(4);
    expect(changed.stdout).toMatch(/host key for 192\.0\.2\.12 CHANGED \(now ssh-ed25519 SHA256:/);
    expect(await onHostOk('w1', 'cat /etc/motd')).toBe('w1: keys\n');
  });

  it('refused input ends the run at once, even with a host whose SSH handshake never completes', async () => {
    // A listener that accepts and says nothing: the early connection to it hangs in the handshake.
    await onHostOk(
      'w1',
      `systemd-run --unit play-silent python3 -c 'import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 2222)); s.listen(); c = s.accept(); time.sleep(600)'`,
    );
    try {
      const inventory = labInventoryWith({});
      mkdirSync(join(inventory, 'host_vars'), { recursive: true });
      writeFileSync(join(inventory, 'host_vars', 'w1.yaml'), 'ansible_port: 2222\nansible_timeout: 60\n');
      const started = Date.now();
      const refused = await play([fixturePlaybook('demo.yaml'), '-i', inventory, '-l', 'w1', '--tags', 'nosuch']);
      expect(refused.code, failures(refused)).toBe(6);
      expect(Date.now() - started).toBeLessThan(20_000); // not the 60 s connect timeout
    } finally {
      await onHost('w1', 'systemctl stop play-silent');
    }
  });
});

describeLab('play as a non-root user with become', () => {
  it('runs every command through passwordless sudo; without sudo rights it fails, saying so', async () => {
    const pub = readFileSync(`${lab().state.ssh.privateKey}.pub`, 'utf8');
    await onHostOk(
      'w1',
      [
        'id deploy >/dev/null 2>&1 || useradd -m -s /bin/bash deploy',
        'id nosudo >/dev/null 2>&1 || useradd -m -s /bin/bash nosudo',
        ...['deploy', 'nosudo'].map(
          (u) =>
            `install -d -m 700 -o ${u} -g ${u} /home/${u}/.ssh && printf '%s' '${pub.trim()}' > /home/${u}/.ssh/authorized_keys && chown ${u}: /home/${u}/.ssh/authorized_keys`,
        ),
        "echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy && chmod 440 /etc/sudoers.d/deploy",
      ].join(' && '),
    );
    const inventoryFor = (user: string, become: boolean) =>
      labInventoryWithHostVars('w1', { ansible_user: user, ansible_become: become });
    const motd = (inventory: string, text: string) => play([...motdOnW1(text), '-i', inventory]);

    const ok = await motd(inventoryFor('deploy', true), 'via-sudo');
    expect(ok.code, failures(ok)).toBe(0);
    expect(await onHostOk('w1', 'cat /etc/motd; stat -c %U /etc/motd')).toBe('w1: via-sudo\nroot\n');

    const noBecome = await motd(inventoryFor('deploy', false), 'no-become');
    expect(noBecome.code, failures(noBecome)).toBe(2);
    expect(noBecome.stdout).toMatch(/motd: FAILED: writing \/etc\/motd failed[\s\S]*Permission denied/);

    const noSudo = await motd(inventoryFor('nosudo', true), 'no-sudo');
    expect(noSudo.code, failures(noSudo)).toBe(2);
    expect(noSudo.stdout).toMatch(/sudo: a password is required/);
    expect(await onHostOk('w1', 'cat /etc/motd')).toBe('w1: via-sudo\n');
  });
});
