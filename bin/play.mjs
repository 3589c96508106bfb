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

const main = await loadMain();
process.exitCode = await main(process.argv.slice(2));
