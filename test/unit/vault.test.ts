import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extraVarsLayer } from '../../src/cli/extra-vars.ts';
import { compile } from '../../src/engine/compile.ts';
import { InputError } from '../../src/input/errors.ts';
import { decryptVault, Vault } from '../../src/input/vault.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { Redactor } from '../../src/output/redact.ts';

const root = join(import.meta.dirname, '../..');
const PASSWORD = 'vault-pass-of-the-test';

/** The real ansible-vault (Debian's ansible-core, installed by scripts/setup). */
function ansibleVault(args: string[], cwd: string): string {
  const pw = join(cwd, '.vault-pass');
  writeFileSync(pw, `${PASSWORD}\n`);
  return execFileSync('ansible-vault', [...args, '--vault-password-file', pw], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_NOCOLOR: '1' },
  });
}

/** example-bgp with the BGP password in an inline !vault value and the K3s token in a vaulted host_vars file. */
function vaultedInventory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'play-vault-'));
  cpSync(join(root, 'inventory/example-bgp'), dir, { recursive: true });
  const inline = ansibleVault(['encrypt_string', 'vaulted-md5-password', '--name', 'password'], dir).replace(
    /^password: /,
    '',
  );
  const vars = join(dir, 'group_vars/all.yaml');
  const text = readFileSync(vars, 'utf8');
  const line = /^(\s+)password: supersecret-md5.*$/m.exec(text);
  if (!line) throw new Error('example-bgp has no peer password line');
  const indent = `${line[1] ?? ''}  `;
  writeFileSync(vars, text.replace(line[0], `${line[1]}password: ${inline.trimEnd().split('\n').join(`\n${indent}`)}`));
  execFileSync('mkdir', ['-p', join(dir, 'host_vars')]);
  writeFileSync(join(dir, 'host_vars/cp1.yaml'), 'k3s_token: a-vaulted-cluster-token-0123\n');
  ansibleVault(['encrypt', 'host_vars/cp1.yaml'], dir);
  return dir;
}

async function compileWith(inventoryDir: string, passwords: string[]) {
  const vault = new Vault(passwords);
  return compile(loadPlaybook(join(root, 'playbooks/site.yaml')), loadInventory(inventoryDir, vault), {
    extraVars: [extraVarsLayer('{}', 0, root, vault)],
    selection: { tags: [], skipTags: [], roles: [] },
    secrets: vault.secrets,
  });
}

describe('Ansible Vault: files and !vault values written by the real ansible-vault', () => {
  const inventory = vaultedInventory();

  it('opens both, and every opened value is a secret for masking', async () => {
    expect(readFileSync(join(inventory, 'host_vars/cp1.yaml'), 'utf8')).toMatch(/^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    const run = await compileWith(inventory, [PASSWORD]);
    expect(run.secrets).toEqual(expect.arrayContaining(['vaulted-md5-password', 'a-vaulted-cluster-token-0123']));
    const shown = new Redactor(run.secrets).text(
      'neighbor 192.0.2.11 password vaulted-md5-password; token: a-vaulted-cluster-token-0123',
    );
    expect(shown).not.toMatch(/vaulted-md5-password|a-vaulted-cluster-token-0123/);
  });

  it('without a vault password, or with a wrong one, the input is refused at the file (and line), saying what to give', async () => {
    const refused = async (passwords: string[]): Promise<string> =>
      compileWith(inventory, passwords).then(
        () => '',
        (e: unknown) => (e instanceof InputError ? e.message : String(e)),
      );
    const none = await refused([]);
    expect(none).toMatch(/host_vars\/cp1\.yaml: encrypted with Ansible Vault: give --vault-password-file FILE/);
    expect(none).toMatch(/group_vars\/all\.yaml:\d+:\d+: encrypted with Ansible Vault/);
    expect(await refused(['not-the-password'])).toMatch(/the vault password given does not open it/);
  });

  it('decrypts format 1.2 (with a vault id) too, and refuses tampered ciphertext', () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-vault-'));
    writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`);
    const sealed = execFileSync(
      'ansible-vault',
      ['encrypt_string', '--vault-id', `prod@${join(dir, 'pw')}`, 'id-labelled-secret'],
      { encoding: 'utf8' },
    );
    const text = sealed.replace(/^!vault \|\n/, '').replace(/^\s+/gm, '');
    expect(text).toMatch(/^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    expect(decryptVault(text, PASSWORD)).toBe('id-labelled-secret');
    const lines = text.split('\n');
    const tampered = [
      lines[0],
      ...lines.slice(1).map((l, i) => (i === 2 ? l.replace(/^./, (c) => (c === '3' ? '4' : '3')) : l)),
    ].join('\n');
    expect(decryptVault(tampered, PASSWORD)).toBeUndefined();
  });

  it('--ask-vault-pass asks on the terminal without echoing what is typed', async () => {
    const cmd = `node bin/play.mjs site.yaml -i ${inventory} --syntax-check --ask-vault-pass`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (screen.includes('Vault password: ') && !child.stdin.writableEnded) child.stdin.end(`${PASSWORD}\r`);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/syntax OK/);
    expect(screen).not.toContain(PASSWORD);
  });

  it('an executable --vault-password-file is run and its output is the password; a failing one stops before any host, showing none of its output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-vault-script-'));
    const script = (name: string, body: string): string => {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, 0o700);
      return path;
    };
    const play = (pw: string) =>
      spawnSync('node', ['bin/play.mjs', 'site.yaml', '-i', inventory, '--syntax-check', '--vault-password-file', pw], {
        cwd: root,
        encoding: 'utf8',
      });
    const good = play(script('client.sh', `echo 'asked the password manager' >&2; printf '%s\\n' '${PASSWORD}'`));
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/syntax OK/);
    expect(good.stderr).toContain('asked the password manager');
    const bad = play(script('broken.sh', `printf '%s' '${PASSWORD}'; exit 3`));
    expect(bad.status).toBe(5);
    expect(bad.stderr).toMatch(
      /broken\.sh: an executable file is run as a password script, and this one exited with 3/,
    );
    expect(bad.stdout + bad.stderr).not.toContain(PASSWORD);
    // The same text in a file that is not executable is the password itself, not a command.
    const plain = join(dir, 'plain');
    writeFileSync(plain, `  ${PASSWORD}  \n\n`);
    expect(play(plain).status).toBe(0);
  });
});

describe('Ansible Vault: each way a vault input can be wrong has its own message', () => {
  const inventory = vaultedInventory();
  const play = (dir: string, pw: string) =>
    spawnSync('node', ['bin/play.mjs', 'site.yaml', '-i', dir, '--syntax-check', '--vault-password-file', pw], {
      cwd: root,
      encoding: 'utf8',
    });
  const passwordFile = (text: string): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'play-vault-pw-')), 'pw');
    writeFileSync(file, text);
    return file;
  };
  /** The vaulted inventory with host_vars/cp1.yaml changed. */
  const withCp1 = (change: (text: string) => string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'play-vault-bad-'));
    cpSync(inventory, dir, { recursive: true });
    const file = join(dir, 'host_vars/cp1.yaml');
    writeFileSync(file, change(readFileSync(file, 'utf8')));
    return dir;
  };

  it('an empty password file is not "no password"', () => {
    const r = play(inventory, passwordFile('\n'));
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/--vault-password-file .*\/pw: the file is empty; it must hold the vault password/);
  });

  it('a file cut short, or edited, is corrupt, not opened with a wrong password', () => {
    const pw = passwordFile(PASSWORD);
    const cut = play(
      withCp1((t) => t.split('\n').slice(0, 3).join('\n')),
      pw,
    );
    expect(cut.status).toBe(6);
    expect(cut.stderr).toMatch(/host_vars\/cp1\.yaml: Ansible Vault data that is cut short or corrupt/);
    const edited = play(
      withCp1((t) => t.replace(/\n(\w)/, '\nz$1')),
      pw,
    );
    expect(edited.status).toBe(6);
    expect(edited.stderr).toMatch(/host_vars\/cp1\.yaml: Ansible Vault data that is cut short or corrupt/);
    expect(cut.stderr + edited.stderr).not.toMatch(/does not open it/);
  });

  it('a header of another format is named as such, not read as YAML', () => {
    const r = play(
      withCp1((t) => t.replace(/^\$ANSIBLE_VAULT;1\.1;AES256/, '$ANSIBLE_VAULT;2.0;AES512')),
      passwordFile(PASSWORD),
    );
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(
      /host_vars\/cp1\.yaml: an Ansible Vault header play does not know \("\$ANSIBLE_VAULT;2\.0;AES512"\): play opens format 1\.1 and 1\.2/,
    );
  });
});

describe('secrets at rest: nothing derived from a secret is written on the controller', () => {
  it("--syntax-check with K3s's secret keys opened from a vault leaves them in no file under dist/, in any encoding", () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-vault-rest-'));
    cpSync(join(root, 'inventory/example-bgp'), dir, { recursive: true });
    const token = `agent-token-at-rest-${process.pid}`;
    const endpoint = `postgres://k3s:db-password-${process.pid}@db.example:5432/k3s`;
    const inline = ansibleVault(['encrypt_string', token, '--name', 'agent-token'], dir)
      .replace(/^agent-token: /, '')
      .trimEnd()
      .split('\n')
      .join('\n      ');
    writeFileSync(join(dir, 'group_vars/k3s_server.yaml'), `k3s_extra_config:\n  agent-token: ${inline}\n`);
    mkdirSync(join(dir, 'host_vars'), { recursive: true });
    writeFileSync(join(dir, 'host_vars/cp1.yaml'), `k3s_extra_config:\n  datastore-endpoint: "${endpoint}"\n`);
    ansibleVault(['encrypt', 'host_vars/cp1.yaml'], dir);
    const r = spawnSync(
      'node',
      ['bin/play.mjs', 'site.yaml', '-i', dir, '--syntax-check', '--vault-password-file', join(dir, '.vault-pass')],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    for (const secret of [token, `db-password-${process.pid}`]) {
      for (const form of [secret, Buffer.from(secret).toString('base64').slice(0, 16)]) {
        const found = spawnSync('grep', ['-rlF', '--', form, join(root, 'dist')], { encoding: 'utf8' });
        expect(found.stdout, form).toBe('');
      }
    }
  });
});
