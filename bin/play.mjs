#!/usr/bin/env node
// play's launcher: runs play compiled ahead of time (bin/compile.mjs rebuilds it whenever a
// source under src/ or roles/ changed). Where the checkout is read-only, tsx compiles on the fly.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compiledTree } from './compile.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

async function loadMain() {
  let tree;
  try {
    tree = await compiledTree(root);
  } catch {
    const { register } = await import('tsx/esm/api');
    register();
    return (await import('../src/cli/main.ts')).main;
  }
  return (await import(pathToFileURL(join(tree, 'src/cli/main.js')).href)).main;
}

// A reader that went away (`play --list-hosts | head`) is not the run's failure: what is left to
// print is dropped and the run ends as it would have, rather than dying mid-apply with a stack trace.
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
});

const main = await loadMain();
process.exitCode = await main(process.argv.slice(2));
