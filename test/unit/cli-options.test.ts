import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/input/errors.ts';
import { parseOptions } from '../../src/cli/options.ts';
import { init } from '../../src/cli/init.ts';

const parse = (...argv: string[]) => parseOptions(argv, () => undefined);

describe('command line', () => {
  it('takes every option, repeated ones accumulating', () => {
    const o = parse(
      'site.yaml',
      '-i',
      'prod',
      '-C',
      '-D',
      '-t',
      'a,b',
      '--tags',
      'c',
      '--skip-tags',
      'd',
      '--role',
      'frr-edge',
      '-l',
      'w*',
      '-e',
      'x=1',
      '-e',
      '@v.yaml',
      '-f',
      '3',
      '--json',
      'r.json',
      '-v',
      '-v',
      '--accept-new-host-keys',
      '--stop-grace',
      '3',
      '--roles-path',
      'r1:r2',
      '--roles-path',
      'r3',
      '--vault-password-file',
      'a',
      '--vault-pass-file',
      'b',
      '-J',
      '-u',
      'deploy',
      '--key-file',
      'k',
      '-b',
      '--become-method',
      'su',
      '-k',
      '-K',
      '-T',
      '7',
      '--ssh-common-args',
      '-o ProxyJump=bastion',
      '--ssh-extra-args',
      '-p 2222',
    );
    expect(o).toEqual({
      playbook: 'site.yaml',
      doctor: false,
      inventory: 'prod',
      check: true,
      diff: true,
      tags: ['a', 'b', 'c'],
      skipTags: ['d'],
      roles: ['frr-edge'],
      limit: 'w*',
      extraVars: ['x=1', '@v.yaml'],
      forks: 3,
      listHosts: false,
      listTasks: false,
      listTags: false,
      syntaxCheck: false,
      json: 'r.json',
      verbose: 2,
      acceptNewHostKeys: true,
      stopGraceSeconds: 3,
      rolesPath: ['r1', 'r2', 'r3'],
      vaultPasswordFiles: ['a', 'b'],
      askVaultPass: true,
      askPass: true,
      askBecomePass: true,
      connection: {
        user: 'deploy',
        privateKey: 'k',
        become: true,
        becomeMethod: 'su',
        timeout: 7,
        sshCommonArgs: '-o ProxyJump=bastion',
        sshExtraArgs: '-p 2222',
      },
    });
  });
  it('doctor: site.yaml in check mode, without the run-only options', () => {
    expect(parse('doctor', '-i', 'prod', '-l', 'w1', '--json', 'd.json')).toMatchObject({
      doctor: true,
      playbook: 'site.yaml',
      check: true,
      diff: false,
      limit: 'w1',
      json: 'd.json',
      roles: [],
      tags: [],
    });
    expect(() => parse('doctor', '-i', 'prod', '--tags', 'x')).toThrow(/unknown option '--tags'/);
    expect(() => parse('doctor', '-i', 'prod', 'site.yaml')).toThrow(/too many arguments/);
    let printed = '';
    expect(parseOptions(['doctor', '--help'], (s) => (printed += s))).toBeUndefined();
    expect(printed).toMatch(/Usage: play doctor[\s\S]*3 {3}a check failed/);
  });
  it('the roles path comes from $PLAY_ROLES_PATH unless --roles-path is given', () => {
    process.env.PLAY_ROLES_PATH = '/a:/b';
    try {
      expect(parse('site.yaml', '-i', 'prod')?.rolesPath).toEqual(['/a', '/b']);
      expect(parse('site.yaml', '-i', 'prod', '--roles-path', '/c')?.rolesPath).toEqual(['/c']);
    } finally {
      delete process.env.PLAY_ROLES_PATH;
    }
    expect(parse('site.yaml', '-i', 'prod')?.rolesPath).toEqual([]);
  });
  it('defaults to a plain run', () => {
    expect(parse('site.yaml', '-i', 'prod')).toMatchObject({
      check: false,
      diff: false,
      tags: [],
      extraVars: [],
      roles: [],
      verbose: 0,
      forks: undefined,
      stopGraceSeconds: 10,
    });
  });
  it('bad usage is a UsageError saying what is wrong', () => {
    expect(() => parse('site.yaml')).toThrow(UsageError);
    expect(() => parse('site.yaml')).toThrow(/required option '-i, --inventory <inventory>' not specified/);
    expect(() => parse('site.yaml', '-i', 'x', '--nope')).toThrow(/unknown option '--nope'/);
    expect(() => parse('site.yaml', '-i', 'x', '-f', '0')).toThrow(/--forks expects a positive integer/);
    expect(() => parse('site.yaml', '-i', 'x', '--stop-grace', 'soon')).toThrow(
      /--stop-grace expects a positive integer, got "soon"/,
    );
  });
  it("a usage error points at the help of the command it belongs to: play's, doctor's or init's", async () => {
    const help = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof UsageError ? e.help : undefined;
      }
      return undefined;
    };
    expect(help(() => parse('site.yaml'))).toBe('play --help');
    expect(help(() => parse('doctor'))).toBe('play doctor --help');
    await expect(init(['/tmp/never-written'], '/', () => undefined)).rejects.toMatchObject({
      help: 'play init --help',
    });
  });
  it("--version prints play's version and the K3s and MetalLB versions it installs by default, and asks for no run", () => {
    let printed = '';
    expect(parseOptions(['--version'], (s) => (printed += s))).toBeUndefined();
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const role = (file: string): string =>
      readFileSync(new URL(`../../roles/${file}/variables.yaml`, import.meta.url), 'utf8');
    const k3s = /^k3s_version:[\s\S]*?default: (\S+)/m.exec(role('k3s-config'))?.[1];
    const metallb = /^metallb_version:[\s\S]*?default: (\S+)/m.exec(role('metallb-install'))?.[1];
    expect(printed.trim().split('\n')).toEqual([
      pkg.version,
      `K3s ${k3s} (k3s_version)`,
      `MetalLB ${metallb} (metallb_version)`,
    ]);
  });
  it('--help prints and asks for no run', () => {
    let printed = '';
    expect(parseOptions(['--help'], (s) => (printed += s))).toBeUndefined();
    expect(printed).toMatch(/Exit codes:[\s\S]*99\s+interrupted/);
  });
});

describe('play init says the command the user will type', () => {
  it('npx play where play is a package of the project or run through npx, play where it is on the PATH', async () => {
    const { command } = await import('../../src/cli/init.ts');
    expect(command({}, '/home/me/ops/node_modules/vds-play')).toBe('npx play');
    expect(command({ npm_command: 'exec' }, '/usr/lib/play')).toBe('npx play');
    expect(command({}, '/usr/lib/play')).toBe('play');
  });
});

describe('play init asks which user the provider gave, on a terminal', () => {
  it('the answer becomes ansible_user, with become for a user that is not root', () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-init-ask-'));
    const bin = join(import.meta.dirname, '../../bin/play.mjs');
    // `script` gives play a terminal, and types what it reads into it.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${bin} init inv --mode layer2`, '/dev/null'], {
      cwd: dir,
      input: 'debian\r',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stdout).toContain('Which user does your provider give you to log in');
    const vars = readFileSync(join(dir, 'inv/group_vars/all.yaml'), 'utf8');
    expect(vars).toMatch(/^ansible_user: debian\nansible_become: true /m);
  });
});
