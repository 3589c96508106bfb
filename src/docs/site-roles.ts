import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readYaml } from '../input/yaml-file.ts';
import { roleVariables, rolePaths } from '../role/load.ts';
import { variablesDoc, type DocumentedRole } from './variables-doc.ts';
import { variablesTypes } from './variables-types.ts';
import { varsJsonSchema } from './vars-schema.ts';

/** play's own playbooks: site.yaml first, then the others (drain.yaml, ...) by name. */
const playbooks = (root: string): string[] => [
  'site.yaml',
  ...readdirSync(join(root, 'playbooks'))
    .filter((f) => f.endsWith('.yaml') && f !== 'site.yaml')
    .sort(),
];

/** The roles of play's playbooks (site.yaml's in its order, then the others'), with their variables. */
function siteRoles(root: string): DocumentedRole[] {
  const plays = playbooks(root).flatMap(
    (f) => readYaml(join(root, 'playbooks', f)).value as { roles: (string | { role: string })[] }[],
  );
  const names = [...new Set(plays.flatMap((p) => p.roles.map((r) => (typeof r === 'string' ? r : r.role))))];
  const searchPath = rolePaths(join(root, 'playbooks'));
  return names.map((name) => ({ name, variables: roleVariables(join(root, 'roles', name), searchPath) }));
}

/** docs/variables.md for the roles of play's playbooks, site.yaml's first, in its order. */
export function siteRolesDoc(root: string): string {
  return variablesDoc(siteRoles(root));
}

/** Each role's roles/NAME/variables.gen.ts (path → text): the type of its tasks' `vars`. */
export async function siteRolesTypes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { name, variables } of siteRoles(root))
    out.set(join(root, 'roles', name, 'variables.gen.ts'), await variablesTypes(name, variables));
  return out;
}

/** docs/vars.schema.json: the JSON Schema of a vars file, for editors (text, as written). */
export function siteVarsSchema(root: string): string {
  return `${JSON.stringify(varsJsonSchema(siteRoles(root)), null, 2)}\n`;
}
