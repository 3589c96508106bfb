#!/usr/bin/env node
// Roles are TypeScript loaded at run time: tsx compiles them (and play itself) on the fly, so
// there is no build step between editing a role and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
