import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuildFailure, BuildOptions } from 'esbuild';
import { DerivedCache } from '../input/derived-cache.ts';
import { InputError } from '../input/errors.ts';

/**
 * Imports a role's role.ts. When play runs compiled (dist/KEY/, see bin/compile.mjs), a role of
 * the project imports its compiled twin; any other role (a test fixture, a role beside the
 * user's own playbook) is compiled here, with its imports of the role API pointed at the
 * compiled tree's, so that play's modules are loaded once. (Errors and FromHost values are
 * recognised by brand, so even a second copy would be understood: src/errors.ts.) A role imports play as `vds-play/role` (package.json's exports); the rest of play is
 * bundled away, so importing it is refused.
 */
export async function importRole(modulePath: string): Promise<unknown> {
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith('.js')) return import(pathToFileURL(modulePath).href); // running from source
  const tree = join(dirname(self), '..', '..');
  const project = join(tree, '..', '..');
  const rel = relative(project, modulePath);
  const twin = join(tree, rel.replace(/\.ts$/, '.js'));
  if (!rel.startsWith('..') && existsSync(twin)) return import(pathToFileURL(twin).href);
  return import(pathToFileURL(await compileRole(modulePath, tree, project)).href);
}

async function compileRole(modulePath: string, tree: string, project: string): Promise<string> {
  const { build } = await import('esbuild');
  const playSources = join(project, 'src');
  // The same options bin/compile.mjs builds the tree with.
  const options = JSON.parse(readFileSync(join(project, 'bin/bundle-options.json'), 'utf8')) as BuildOptions;
  const result = await build({
    ...options,
    write: false,
    entryPoints: [modulePath],
    plugins: [
      {
        name: 'play-modules',
        setup(b) {
          b.onResolve({ filter: /^(vds-)?play\/role$/ }, () => ({
            path: pathToFileURL(join(tree, 'src/role/api.js')).href,
            external: true,
          }));
          b.onResolve({ filter: /^\.\.?\// }, (args) => {
            const inPlay = relative(playSources, resolve(args.resolveDir, args.path));
            if (inPlay.startsWith('..')) return undefined;
            const twin = join(tree, 'src', inPlay.replace(/\.ts$/, '.js'));
            // The compiled tree keeps play's own modules in bundles: only the role API is reachable.
            if (!existsSync(twin))
              return {
                errors: [
                  {
                    text: `imports src/${inPlay}, which is internal to play: a role imports play as \`vds-play/role\``,
                  },
                ],
              };
            return { path: pathToFileURL(twin).href, external: true };
          });
        },
      },
    ],
  }).catch((e: unknown) => {
    throw problemsIn(e, modulePath);
  });
  const code = result.outputFiles[0]?.text ?? '';
  // Named by content: runs at the same time write the same file, each by an atomic rename.
  const cache = new DerivedCache(join(tree, 'other-roles'));
  const key = DerivedCache.key(code);
  const out = cache.path(key, '.js');
  if (!existsSync(out)) cache.store(key, '.js', code);
  return out;
}

/** A role that does not compile (a syntax error, an import of play's internals) is bad input, located. */
function problemsIn(e: unknown, modulePath: string): unknown {
  const errors = (e as Partial<BuildFailure>).errors;
  if (!Array.isArray(errors) || errors.length === 0) return e;
  return new InputError(
    errors.map((m) => ({
      location: m.location
        ? { file: m.location.file, line: m.location.line, column: m.location.column + 1 }
        : { file: relative(process.cwd(), modulePath) },
      message: m.text,
    })),
  );
}
