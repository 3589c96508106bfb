import { join } from 'node:path';
import { readYaml } from '../input/yaml-file.ts';
import { roleVariables, rolePaths } from '../role/load.ts';
import { variablesDoc } from './variables-doc.ts';

/** The roles of playbooks/site.yaml, in its order, documented. */
export function siteRolesDoc(root: string): string {
  const plays = readYaml(join(root, 'playbooks/site.yaml')).value as { roles: (string | { role: string })[] }[];
  const names = [...new Set(plays.flatMap((p) => p.roles.map((r) => (typeof r === 'string' ? r : r.role))))];
  const searchPath = rolePaths(join(root, 'playbooks'));
  return variablesDoc(names.map((name) => ({ name, variables: roleVariables(join(root, 'roles', name), searchPath) })));
}
