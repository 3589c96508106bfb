// Ahead-of-time compilation of play and its roles, done by the launcher itself: node loads plain
// JavaScript several times faster than it compiles TypeScript on the fly (bench/RESULTS.md), and
// compiling here, whenever a source changed, keeps "edit a role, run it" free of a build step.
// Output is content-addressed (dist/KEY/ from the sources' paths, sizes and mtimes), so runs
// started at once never see a half-written tree.
//
// Play and its roles are bundled: each entry point below is one file, and what several share is
// split into chunks (dist/KEY/src/chunks/), so every module still exists once. Loading a few bundles instead of every
// module one by one saved a run about 30 ms. Every output file sits two directories below the
// tree, where src/input/derived-cache.ts and src/role/import-role.ts look for it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const SOURCE_DIRS = ['src', 'roles'];
const KEEP = 3;
/** Changes whenever the tree's layout does, so a checkout never runs a tree built the old way. */
const LAYOUT = 'bundles 1';
/** What roles import of play, as `vds-play/role` (package.json's exports): the one module of play a role outside the tree can reach. */
const ROLE_API = 'src/role/api.ts';

/** How play bundles TypeScript for Node, here and for roles outside the tree (src/role/import-role.ts). */
function bundleOptions() {
  return JSON.parse(readFileSync(new URL('./bundle-options.json', import.meta.url), 'utf8'));
}

function tsFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The compiled tree for the current sources, building it first if needed. */
export async function compiledTree(root) {
  const files = SOURCE_DIRS.flatMap((d) => tsFiles(join(root, d))).sort();
  const hash = createHash('sha256').update(`${LAYOUT}\n`);
  for (const f of files) {
    const s = statSync(f);
    hash.update(`${relative(root, f)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  const out = join(root, 'dist', hash.digest('hex').slice(0, 16));
  if (!existsSync(join(out, '.complete'))) await build(root, files, out);
  return out;
}

async function build(root, files, out) {
  const { build: esbuild } = await import('esbuild');
  const roles = files.filter((f) => /^roles\/[^/]+\/role\.ts$/.test(relative(root, f)));
  const entryPoints = [join(root, 'src/cli/main.ts'), join(root, ROLE_API), ...roles];
  const result = await esbuild({
    ...bundleOptions(),
    entryPoints,
    outbase: root,
    outdir: out,
    splitting: true,
    chunkNames: 'src/chunks/[name]-[hash]',
    // Every bare import stays external but play's own: a role's `vds-play/role` is bundled like a relative import.
    plugins: [
      {
        name: 'play-role',
        setup: (b) => b.onResolve({ filter: /^(vds-)?play\/role$/ }, () => ({ path: join(root, ROLE_API) })),
      },
    ],
  });
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const f of result.outputFiles) {
    const target = join(tmp, relative(out, f.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.text);
  }
  writeFileSync(join(tmp, '.complete'), '');
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another run finished the same tree first
  }
  prune(dirname(out));
}

/** Older trees go, but not the newest few: a run started from one may still be loading roles. */
function prune(distDir) {
  const trees = readdirSync(distDir)
    .filter((d) => !d.includes('.tmp-'))
    .map((d) => ({ d, t: statSync(join(distDir, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of trees.slice(KEEP)) rmSync(join(distDir, d), { recursive: true, force: true });
}
