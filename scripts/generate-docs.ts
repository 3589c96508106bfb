// Writes docs/variables.md, docs/vars.schema.json and each role's variables.gen.ts from the roles' variable schemas (npm run docs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { siteRolesDoc, siteRolesTypes, siteVarsSchema } from '../src/docs/site-roles.ts';
import { VARS_SCHEMA_FILE } from '../src/docs/vars-schema.ts';

const root = join(import.meta.dirname, '..');
writeFileSync(join(root, 'docs/variables.md'), siteRolesDoc(root));
console.log('wrote docs/variables.md');
writeFileSync(join(root, VARS_SCHEMA_FILE), siteVarsSchema(root));
console.log(`wrote ${VARS_SCHEMA_FILE}`);
for (const [path, text] of await siteRolesTypes(root)) {
  writeFileSync(path, text);
  console.log(`wrote ${path.slice(root.length + 1)}`);
}
