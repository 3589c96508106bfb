import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectRoot = join(import.meta.dirname, '../..');
const { compiledTree } = (await import(pathToFileURL(join(projectRoot, 'bin/compile.mjs')).href)) as {
  compiledTree: (root: string) => Promise<string>;
};

/** Every file under `dir`, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('the compiled tree (bin/compile.mjs)', () => {
  it('bundles play and each role into one file, shared code into chunks; an edited source gives a new tree, and the newest three are kept', async () => {
    const root = mkdtempSync(join(tmpdir(), 'play-tree-'));
    for (const d of ['src', 'roles']) cpSync(join(projectRoot, d), join(root, d), { recursive: true });
    const first = await compiledTree(root);
    const roles = readdirSync(join(root, 'roles')).filter((r) => existsSync(join(root, 'roles', r, 'role.ts')));
    expect(roles.length).toBeGreaterThanOrEqual(6);
    const entries = ['src/cli/main.js', 'src/role/api.js', ...roles.map((r) => `roles/${r}/role.js`)].sort();
    const built = files(first);
    expect(built.filter((f) => !f.startsWith('src/chunks/') && f !== '.complete')).toEqual(entries);
    expect(built.some((f) => f.startsWith('src/chunks/'))).toBe(true);
    expect(await compiledTree(root)).toBe(first);

    const trees = [first];
    for (let edit = 1; edit <= 3; edit++) {
      appendFileSync(join(root, 'src/cli/main.ts'), `// edit ${edit}\n`);
      trees.push(await compiledTree(root));
    }
    expect(new Set(trees).size).toBe(4);
    expect(readdirSync(dirname(first)).sort()).toEqual(
      trees
        .slice(1)
        .map((t) => t.split('/').pop())
        .sort(),
    );
  });

  it('a role outside the tree reaches play through the role API only: importing an internal module, like a syntax error, is refused, located', () => {
    const project = mkdtempSync(join(tmpdir(), 'play-role-'));
    mkdirSync(join(project, 'playbooks'));
    mkdirSync(join(project, 'roles/sneaky'), { recursive: true });
    const src = relative(join(project, 'roles/sneaky'), join(projectRoot, 'src'));
    writeFileSync(join(project, 'playbooks/p.yaml'), '- hosts: all\n  roles: [sneaky]\n');
    writeFileSync(join(project, 'roles/sneaky/variables.yaml'), '{}\n');
    const role = (imports: string) =>
      writeFileSync(
        join(project, 'roles/sneaky/role.ts'),
        `import { defineRole, file } from 'vds-play/role';\n${imports}\nexport default defineRole({ tasks: () => [file('f', { path: '/tmp/f', content: '' })] });\n`,
      );
    const check = () =>
      spawnSync(
        process.execPath,
        [
          join(projectRoot, 'bin/play.mjs'),
          'playbooks/p.yaml',
          '-i',
          join(projectRoot, 'test/fixtures/inventories/cluster'),
          '--syntax-check',
        ],
        { cwd: project, encoding: 'utf8' },
      );

    role(`import { runPlaybook } from '${src}/engine/run.ts';\nvoid runPlaybook;`);
    const refused = check();
    expect(refused.status).toBe(6);
    expect(refused.stderr).toContain(
      'roles/sneaky/role.ts:2:29: imports src/engine/run.ts, which is internal to play: a role imports play as `vds-play/role`',
    );

    role('export const broken = ;');
    const unparsable = check();
    expect(unparsable.status).toBe(6);
    expect(unparsable.stderr).toContain('roles/sneaky/role.ts:2:23: Unexpected ";"');

    role('');
    const allowed = check();
    expect(allowed.stderr).toBe('');
    expect(allowed.status).toBe(0);
  });
});
