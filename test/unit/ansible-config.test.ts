import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ansibleSettings } from '../../src/cli/ansible-config.ts';
import { parseOptions } from '../../src/cli/options.ts';

// ansible.cfg and ANSIBLE_* as ansible-playbook reads them (issue 26): what play implements is
// honoured (the command line wins, then the environment, then the file), the rest named once.
const root = join(import.meta.dirname, '../..');

function project(cfg: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'play-cfg-'));
  chmodSync(dir, 0o755);
  cpSync(join(root, 'inventory/example-bgp'), join(dir, 'inv'), { recursive: true });
  writeFileSync(join(dir, 'ansible.cfg'), cfg);
  return dir;
}

const CFG = `# a user's ansible.cfg
[defaults]
inventory = inv
remote_user = debian
private_key_file = ~/.ssh/provider
forks = 3 ; one per host we have
gathering = smart
retry_files_enabled = False

[privilege_escalation]
become = True
become_user = root

[ssh_connection]
pipelining = True
`;

describe('ansible.cfg and ANSIBLE_* variables', () => {
  it('honours what play implements and names the rest', () => {
    const dir = project(CFG);
    const s = ansibleSettings(dir, {});
    expect(s).toMatchObject({
      inventory: join(dir, 'inv'),
      remoteUser: 'debian',
      forks: 3,
      become: true,
      becomeUser: 'root',
    });
    expect(s.privateKeyFile).toMatch(/\/\.ssh\/provider$/);
    expect(s.unused).toEqual([
      `${join(dir, 'ansible.cfg')}: play does not use [defaults] gathering, [defaults] retry_files_enabled, [ssh_connection] pipelining`,
    ]);
    const o = parseOptions(['site.yaml'], () => undefined, s);
    expect(o).toMatchObject({ inventory: join(dir, 'inv'), forks: 3 });
    expect(o?.connection).toMatchObject({ user: 'debian', become: true, becomeUser: 'root' });
  });

  it('the command line wins over the environment, which wins over the file', () => {
    const dir = project(CFG);
    const s = ansibleSettings(dir, { ANSIBLE_REMOTE_USER: 'admin', ANSIBLE_FORKS: '7', ANSIBLE_NOCOWS: '1' });
    expect(s).toMatchObject({ remoteUser: 'admin', forks: 7 });
    expect(s.unused).toContain('play does not use $ANSIBLE_NOCOWS');
    const o = parseOptions(['site.yaml', '-i', 'other', '-u', 'me', '-f', '2'], () => undefined, s);
    expect(o).toMatchObject({ inventory: 'other', forks: 2 });
    expect(o?.connection.user).toBe('me');
  });

  it('$ANSIBLE_CONFIG names the file; one in a world-writable folder is ignored, as Ansible ignores it', () => {
    const dir = project(CFG);
    const elsewhere = mkdtempSync(join(tmpdir(), 'play-cfg-'));
    writeFileSync(join(elsewhere, 'my.cfg'), '[defaults]\nforks = 9\n');
    expect(ansibleSettings(dir, { ANSIBLE_CONFIG: join(elsewhere, 'my.cfg') }).forks).toBe(9);
    chmodSync(dir, 0o777);
    const open = ansibleSettings(dir, {});
    expect(open.forks).toBeUndefined();
    expect(open.unused[0]).toMatch(/ansible\.cfg is in a world-writable folder: ignored, as Ansible ignores it/);
  });

  it('a value of the wrong kind is refused at its line', () => {
    const dir = project('[defaults]\nforks = many\n');
    expect(() => ansibleSettings(dir, {})).toThrow(/ansible\.cfg:2 \(\[defaults\] forks\): expected a whole number/);
  });

  it("a run with no -i takes ansible.cfg's inventory and says once what it does not use", () => {
    const dir = project(CFG);
    mkdirSync(join(dir, '.ssh'));
    writeFileSync(join(dir, '.ssh/provider'), 'a key\n', { mode: 0o600 });
    const r = spawnSync(process.execPath, [join(root, 'bin/play.mjs'), 'site.yaml', '--list-hosts'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, HOME: dir },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/play "K3s agents join" \(2 hosts\):\n {2}w1\n {2}w2/);
    expect(r.stderr.match(/play does not use \[defaults\] gathering/g)).toHaveLength(1);
  });
});
