// Writes docs/variables.md from the roles' variable schemas (npm run docs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { siteRolesDoc } from '../src/docs/site-roles.ts';

const root = join(import.meta.dirname, '..');
writeFileSync(join(root, 'docs/variables.md'), siteRolesDoc(root));
console.log('wrote docs/variables.md');
