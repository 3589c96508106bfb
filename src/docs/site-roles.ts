import { join } from 'node:path';
import { readYaml } from '../input/yaml-file.ts';
import { loadRoleVariables } from '../role/variables-schema.ts';
import { variablesDoc } from './variables-doc.ts';

/** The roles of playbooks/site.yaml, in its order, documented. */
export function siteRolesDoc(root: string): string {
  const plays = readYaml(join(root, 'playbooks/site.yaml')).value as { roles: (string | { role: string })[] }[];
  const names = [...new Set(plays.flatMap((p) => p.roles.map((r) => (typeof r === 'string' ? r : r.role))))];
  return variablesDoc(names.map((name) => ({ name, variables: loadRoleVariables(join(root, 'roles', name, 'variables.yaml')) })));
}
