import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../lab/paths.ts';
import { describeLab } from './lab-fixture.ts';
import { changedTasks, exampleInventory, failures, play } from './play-runner.ts';

/**
 * play as a user gets it: `npm pack`, installed into a repository of the user's own outside the
 * checkout, run from there against the lab with the user's inventory, playbook and role.
 */
describeLab("play installed from its packed tarball, run from the user's own repository", () => {
  let repo = '';
  let bin = '';

  beforeAll(() => {
    const packDir = mkdtempSync(join(tmpdir(), 'play-pack-'));
    execFileSync('npm', ['pack', '--pack-destination', packDir, projectRoot], { stdio: 'pipe' });
    const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz')) ?? 'missing.tgz');
    repo = mkdtempSync(join(tmpdir(), 'play-user-repo-'));
    writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'ops', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: repo,
      stdio: 'pipe',
    });
    bin = join(repo, 'node_modules/vds-play/bin/play.mjs');
  }, 180_000);

  it('the package holds play, its roles, playbooks and examples, and no tests or lab', () => {
    const pkg = join(repo, 'node_modules/vds-play');
    expect(
      readdirSync(pkg)
        .filter((f) => !['node_modules', 'dist'].includes(f))
        .sort(),
    ).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'bin',
      'docs',
      'inventory',
      'package.json',
      'playbooks',
      'roles',
      'src',
    ]);
    expect(readdirSync(join(pkg, 'inventory')).sort()).toEqual(['example-bgp', 'example-l2']);
  });

  it('play init writes a starting inventory with a password of its own, which checks clean', async () => {
    // init contacts no host: run as the user would, outside the lab's namespace.
    const playInit = (mode: string) =>
      spawnSync(process.execPath, [bin, 'init', 'inventory/prod', '--mode', mode], { cwd: repo, encoding: 'utf8' });
    const init = playInit('bgp');
    expect(init.status, init.stderr).toBe(0);
    // Installed in the user's project, play is run as `npx play`: the hints say what to type.
    expect(init.stdout).toContain('\n  npx play site.yaml -i inventory/prod --check --diff');
    const vars = readFileSync(join(repo, 'inventory/prod/group_vars/all.yaml'), 'utf8');
    expect(vars).toMatch(/password: [A-Za-z0-9_-]{16}\s/);
    expect(vars).not.toContain('supersecret-md5');
    // The generated password is readable by its owner only, and init says so.
    expect(statSync(join(repo, 'inventory/prod/group_vars/all.yaml')).mode & 0o777).toBe(0o600);
    expect(init.stdout).toMatch(/mode 0600/);
    // Editors complete and check the variables from the schema play ships, found relative to the file.
    const modeline = /^# yaml-language-server: \$schema=(\S+)\n/.exec(vars)?.[1] ?? '';
    expect(modeline).toBe('../../../node_modules/vds-play/docs/vars.schema.json');
    expect(existsSync(join(repo, 'inventory/prod/group_vars', modeline))).toBe(true);
    const again = playInit('layer2');
    expect(again.status).toBe(5);
    expect(again.stderr).toContain('is not empty');
    const syntax = await play(['site.yaml', '-i', 'inventory/prod', '--syntax-check'], { cwd: repo, bin });
    expect(syntax.code, failures(syntax)).toBe(0);
  });

  it("the built-in site.yaml checks the lab from the user's directory", async () => {
    cpSync(exampleInventory('example-bgp'), join(repo, 'inventory/lab'), { recursive: true });
    const r = await play(['site.yaml', '-i', './inventory/lab', '--check'], { cwd: repo, bin });
    expect(r.code, failures(r)).toBe(0);
    expect(r.report?.check).toBe(true);
    expect(new Set(r.report?.results.map((t) => t.role))).toEqual(
      new Set(['k3s-config', 'sysctl', 'metallb-install', 'l2-or-bgp', 'frr-edge', 'firewall']),
    );
  });

  it("a role of the user's repository, importing `vds-play/role`, runs beside the built-in ones and overrides one of the same name", async () => {
    mkdirSync(join(repo, 'playbooks'), { recursive: true });
    writeFileSync(join(repo, 'playbooks/ours.yaml'), '- name: ours\n  hosts: k3s_cluster\n  roles: [motd, sysctl]\n');
    const role = (name: string, task: string) => {
      mkdirSync(join(repo, 'roles', name), { recursive: true });
      writeFileSync(join(repo, 'roles', name, 'variables.yaml'), '{}\n');
      writeFileSync(
        join(repo, 'roles', name, 'role.ts'),
        `import { defineRole, file } from 'vds-play/role';\nexport default defineRole({ tasks: ({ host }) => [file('${task}', { path: '/etc/motd', content: \`managed by play on \${host.name}\\n\` })] });\n`,
      );
    };
    role('motd', 'message of the day');
    const first = await play(['ours.yaml', '-i', './inventory/lab', '--check'], { cwd: repo, bin });
    expect(first.code, failures(first)).toBe(0);
    expect(changedTasks(first.report)).toContain('cp1 motd message of the day');
    expect(
      first.report?.results.some((t) => t.role === 'sysctl' && t.task === 'kernel parameters for K3s and MetalLB'),
    ).toBe(true);

    role('sysctl', 'our own sysctl');
    const overridden = await play(['ours.yaml', '-i', './inventory/lab', '--list-tasks'], { cwd: repo, bin });
    expect(overridden.stdout).toContain('sysctl | our own sysctl');
    expect(overridden.stdout).not.toContain('kernel parameters for K3s and MetalLB');
  });

  it('--roles-path adds a folder of roles from anywhere', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'play-roles-'));
    cpSync(join(repo, 'roles/motd'), join(elsewhere, 'greeting'), { recursive: true });
    writeFileSync(join(repo, 'playbooks/greet.yaml'), '- name: greet\n  hosts: cp1\n  roles: [greeting]\n');
    const missing = await play(['greet.yaml', '-i', './inventory/lab', '--list-tasks'], { cwd: repo, bin });
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain('greeting');
    const found = await play(['greet.yaml', '-i', './inventory/lab', '--list-tasks', '--roles-path', elsewhere], {
      cwd: repo,
      bin,
    });
    expect(found.code, failures(found)).toBe(0);
    expect(found.stdout).toContain('greeting | message of the day');
  });
});
