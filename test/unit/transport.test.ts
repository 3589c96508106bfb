import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint, hostKeyName, knownKeys, recordHostKey, verifyHostKey } from '../../src/transport/known-hosts.ts';
import { inSections, q, sectionsOf } from '../../src/transport/shell.ts';
import { becomeCommand, PasswordExchange } from '../../src/transport/become.ts';
import { shellIn } from './local-shell.ts';
import { EarlyConnections } from '../../src/transport/early-connections.ts';
import { connectionTarget } from '../../src/transport/target.ts';
import { parseSshArgs } from '../../src/transport/ssh-args.ts';
import { extraVarsLayer } from '../../src/cli/extra-vars.ts';

/** An SSH public key blob: length-prefixed type, then key bytes. */
function blob(type: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, randomBytes(32)]);
}

describe('known_hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'play-kh-'));
  const key = blob('ssh-ed25519');
  const other = blob('ssh-ed25519');
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.9]:2222').digest('base64')}`;
  const file = join(dir, 'known_hosts');
  writeFileSync(
    file,
    [
      `# comment`,
      `cp1,192.0.2.11 ssh-ed25519 ${key.toString('base64')}`,
      `${hashed} ssh-ed25519 ${key.toString('base64')}`,
      `*.example.org,!bad.example.org ssh-ed25519 ${key.toString('base64')}`,
      `@revoked old.example ssh-ed25519 ${other.toString('base64')}`,
      '',
    ].join('\n'),
  );

  it('a listed key is accepted; by name, address, port form, hashed entry and wildcard', () => {
    for (const name of ['cp1', '192.0.2.11', hostKeyName('10.0.0.9', 2222), 'a.example.org'])
      expect(verifyHostKey(knownKeys([file], name), key)).toEqual({ ok: true });
    expect(knownKeys([file], 'bad.example.org')).toEqual([]);
  });
  it('an unknown host is refused with the key fingerprint', () => {
    const v = verifyHostKey(knownKeys([file], '192.0.2.99'), key);
    expect(v).toEqual({ ok: false, reason: 'unknown', fingerprint: fingerprint(key), type: 'ssh-ed25519' });
    expect(fingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
  it('a different key for a known host is "changed"; a revoked key is refused', () => {
    expect(verifyHostKey(knownKeys([file], 'cp1'), other)).toMatchObject({ ok: false, reason: 'changed' });
    expect(verifyHostKey(knownKeys([file], 'old.example'), other)).toMatchObject({ ok: false, reason: 'revoked' });
  });
  it('recording a key makes it known', () => {
    const rec = join(dir, 'sub', 'kh');
    recordHostKey(rec, '[h]:2200', other);
    expect(readFileSync(rec, 'utf8')).toBe(`[h]:2200 ssh-ed25519 ${other.toString('base64')}\n`);
    expect(verifyHostKey(knownKeys([rec], '[h]:2200'), other)).toEqual({ ok: true });
  });
});

describe('connection variables', () => {
  it('reads Ansible connection vars and the inventory known_hosts file from ssh args', () => {
    const t = connectionTarget(
      'w1',
      {
        ansible_host: '10.1.1.1',
        ansible_port: 2222,
        ansible_user: 'deploy',
        ansible_ssh_private_key_file: '/k/id',
        ansible_ssh_common_args: '-o UserKnownHostsFile=/lab/kh -o StrictHostKeyChecking=yes',
        ansible_timeout: 3,
      },
      false,
    );
    expect(t).toMatchObject({
      address: '10.1.1.1',
      port: 2222,
      user: 'deploy',
      privateKeyFile: '/k/id',
      connectTimeoutMs: 3000,
    });
    expect(t.knownHostsFiles[0]).toBe('/lab/kh');
    expect(t.knownHostsFiles[1]).toMatch(/\.ssh\/known_hosts$/);
  });
  it('ssh args: a bastion, known hosts, accept-new; the system known_hosts is read too; ansible_* vars win', () => {
    const t = connectionTarget(
      'w1',
      {
        ansible_host: '10.1.1.1',
        ansible_ssh_common_args:
          '-o ProxyJump=jump@bastion.example:2200 -oStrictHostKeyChecking=accept-new -o "UserKnownHostsFile /lab/kh"',
        ansible_ssh_extra_args: '-p 2222 -l other',
      },
      false,
    );
    expect(t).toMatchObject({
      port: 2222,
      user: 'other',
      acceptNewHostKeys: true,
      jump: { user: 'jump', address: 'bastion.example', port: 2200 },
    });
    expect(t.knownHostsFiles).toEqual([
      '/lab/kh',
      expect.stringMatching(/\.ssh\/known_hosts$/),
      '/etc/ssh/ssh_known_hosts',
    ]);
    expect(
      connectionTarget(
        'w1',
        { ansible_port: 22, ansible_user: 'root', ansible_ssh_common_args: '-J bastion -p 2222 -l other' },
        false,
      ),
    ).toMatchObject({ port: 22, user: 'root', jump: { user: 'root', address: 'bastion', port: 22 } });
  });
  it('ssh args play cannot honour are problems, never ignored', () => {
    expect(parseSshArgs('-o ForwardAgent=yes -A -o StrictHostKeyChecking=no -o ProxyJump=a,b').problems).toEqual([
      expect.stringMatching(/^ssh option ForwardAgent is not supported by play/),
      expect.stringMatching(/^ssh argument "-A" is not supported by play/),
      'StrictHostKeyChecking=no: play always checks host keys (yes, or accept-new to record unknown ones)',
      'ProxyJump=a,b: play goes through one jump host, not a chain',
    ]);
    expect(parseSshArgs('-o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=5').problems).toEqual([]);
  });
  it('become wraps commands in non-interactive sudo, except for the become user itself', () => {
    const b = { become: true, user: 'deploy', becomeUser: 'root', method: 'sudo' } as const;
    expect(becomeCommand('echo a', b)).toEqual({ command: `sudo -n -H -u 'root' -- /bin/sh -c 'echo a'` });
    expect(becomeCommand('echo a', { ...b, user: 'root' })).toEqual({ command: 'echo a' });
    expect(becomeCommand('echo a', { ...b, become: false })).toEqual({ command: 'echo a' });
    expect(q("it's")).toBe(`'it'\\''s'`);
  });
  it('with a password, sudo asks with a prompt of its own and the command says when it runs; su likewise', () => {
    const b = { become: true, user: 'deploy', becomeUser: 'root', method: 'sudo', password: 'pw' } as const;
    const sudo = becomeCommand('cat > /x', b);
    expect(sudo.command).toMatch(/^sudo -S -p '\[play become \S+\] password:' -H -u 'root' -- \/bin\/sh -c /);
    expect(sudo.command).not.toContain('pw');
    expect(sudo.gate).toMatchObject({ password: 'pw', ready: expect.stringMatching(/^play-become-ready-/) });
    const su = becomeCommand('cat > /x', { ...b, method: 'su' });
    expect(su.command).toMatch(/^LC_ALL=C su 'root' -c /);
    expect(su.gate?.prompt).toBe('Password:');
  });
  it('the password answers the first prompt only; stdin opens once the command runs; its stderr is its own', () => {
    const gate = { prompt: '[p]', password: 'pw', ready: 'READY', refused: 'REFUSED' };
    const ok = new PasswordExchange(gate);
    expect(ok.step('')).toBe('wait');
    expect(ok.step('[p]')).toBe('answer');
    expect(ok.step('[p]')).toBe('wait');
    expect(ok.step('[p]\nREADY\n')).toBe('open');
    expect(ok.stderr('[p]\nREADY\nwarning: x\n')).toBe('warning: x\n');
    // NOPASSWD or cached credentials: no prompt at all.
    expect(new PasswordExchange(gate).step('READY\n')).toBe('open');
    // A wrong password: sudo asks again; stdin is closed and the refusal said first.
    const wrong = new PasswordExchange(gate);
    wrong.step('[p]');
    expect(wrong.step('[p]\nSorry, try again.\n[p]')).toBe('give-up');
    expect(wrong.stderr('[p]\nSorry, try again.\n[p]\nsudo: 1 incorrect password attempt\n')).toBe(
      'REFUSED\nSorry, try again.\nsudo: 1 incorrect password attempt\n',
    );
    // su does not ask twice: it says so.
    const su = new PasswordExchange({ ...gate, prompt: 'Password:' });
    su.step('Password:');
    expect(su.stderr('Password: su: Authentication failure\n')).toBe('REFUSED\nsu: Authentication failure\n');
  });
});

describe('-e extra vars', () => {
  const dir = mkdtempSync(join(tmpdir(), 'play-e-'));
  it('k=v pairs, quoted values included', () => {
    expect(extraVarsLayer('a=1 b="x y" c=', 0, dir).values).toEqual({ a: '1', b: 'x y', c: '' });
  });
  it('JSON or YAML mappings keep their types', () => {
    expect(extraVarsLayer('{"a": 1, "b": [true]}', 0, dir).values).toEqual({ a: 1, b: [true] });
  });
  it('@file, with lines for errors', () => {
    writeFileSync(join(dir, 'v.yaml'), 'x: 1\ny:\n  - 2\n');
    const l = extraVarsLayer('@v.yaml', 0, dir);
    expect(l.values).toEqual({ x: 1, y: [2] });
    expect(l.locate(['y', 0])).toMatchObject({ file: join(dir, 'v.yaml'), line: 3 });
  });
  it('anything else is a clear error', () => {
    expect(() => extraVarsLayer('novalue', 1, dir)).toThrow(
      /-e #2: expected key=value, a JSON\/YAML mapping or @file; word 1 has no "="/,
    );
  });
});

describe('early connections', () => {
  it('more than ten handshakes at once: closing stops them all, with no listener-leak warning on stderr', async () => {
    // A listener that accepts and says nothing: every handshake hangs until it is aborted.
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const early = new EarlyConnections();
      const targets = Array.from({ length: 12 }, (_, i) => ({
        host: `h${i}`,
        address: '127.0.0.1',
        port,
        user: 'root',
        knownHostsFiles: [],
        acceptNewHostKeys: false,
        connectTimeoutMs: 60_000,
        commandTimeoutMs: 60_000,
      }));
      early.open(targets);
      const [first] = targets;
      if (!first) throw new Error('no targets');
      const taken = early.take(first);
      await new Promise((r) => setTimeout(r, 200));
      early.closeUntaken();
      await expect(taken).rejects.toThrow(/not needed any more/);
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});

describe('commands in sections', () => {
  it("gives back each command's output exactly as printed, whether or not it ends in a newline, also from a trimmed carrier", async () => {
    const commands = ["printf 'a\\nb'", 'true', 'echo c', '', "printf '\\n\\n'"];
    const r = await shellIn('local').exec(inSections('@@test-mark@@', commands));
    const want = ['a\nb', '', 'c\n', '', '\n\n'];
    expect(sectionsOf('@@test-mark@@', r.stdout)).toEqual(want);
    expect(sectionsOf('@@test-mark@@', r.stdout.trimStart())).toEqual(want);
  });
});
