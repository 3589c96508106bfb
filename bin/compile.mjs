// Ahead-of-time compilation of play and its roles, done by the launcher itself: node loads plain
// JavaScript several times faster than it compiles TypeScript on the fly (bench/RESULTS.md), and
// compiling here, whenever a source changed, keeps "edit a role, run it" free of a build step.
// Output is content-addressed (dist/KEY/ from the sources' paths, sizes and mtimes), so runs
// started at once never see a half-written tree.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const SOURCE_DIRS = ['src', 'roles'];
const KEEP = 3;

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
  const hash = createHash('sha256');
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
  const result = await esbuild({ entryPoints: files, outbase: root, outdir: out, bundle: false, format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent' });
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const f of result.outputFiles) {
    const target = join(tmp, relative(out, f.path));
    mkdirSync(dirname(target), { recursive: true });
    // Sources import each other as ./x.ts (allowImportingTsExtensions); the output is ./x.js.
    writeFileSync(target, f.text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*)\.ts(["'])/g, '$1$2.js$3'));
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
