// Writes docs/variables.md and each role's variables.gen.ts from the roles' variable schemas (npm run docs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { siteRolesDoc, siteRolesTypes } from '../src/docs/site-roles.ts';

const root = join(import.meta.dirname, '..');
writeFileSync(join(root, 'docs/variables.md'), siteRolesDoc(root));
console.log('wrote docs/variables.md');
for (const [path, text] of await siteRolesTypes(root)) {
  writeFileSync(path, text);
  console.log(`wrote ${path.slice(root.length + 1)}`);
}
