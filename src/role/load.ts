import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError, unknownName, type SourceLocation } from '../input/errors.ts';
import type { RoleDefinition } from './definition.ts';
import { importRole } from './import-role.ts';
import { loadRoleVariables, type RoleVariables } from './variables-schema.ts';

export interface LoadedRole {
  name: string;
  dir: string;
  definition: RoleDefinition<Record<string, unknown>>;
  variables: RoleVariables;
}

/** Where roles are looked for: `roles/` beside the playbook, then beside the playbook's folder. */
export function rolePaths(playbookDir: string): string[] {
  return [join(playbookDir, 'roles'), join(playbookDir, '..', 'roles')];
}

/** Loads `roles/NAME/role.ts` (TypeScript; no build step: see importRole) and its variables. */
export async function loadRole(ref: { name: string; location: SourceLocation }, searchPath: string[]): Promise<LoadedRole> {
  const { name } = ref;
  const dir = searchPath.map((p) => join(p, name)).find((d) => existsSync(join(d, 'role.ts')));
  if (!dir) throw InputError.at(ref.location, unknownName('role', name, availableRoles(searchPath)));
  const modulePath = join(dir, 'role.ts');
  const mod = (await importRole(modulePath)) as { default?: unknown };
  const definition = mod.default;
  if (!isRoleDefinition(definition)) {
    throw InputError.at({ file: relative(process.cwd(), modulePath) }, 'expected `export default defineRole({ tasks: (ctx) => [...] })`');
  }
  return { name, dir, definition, variables: loadRoleVariables(join(dir, 'variables.yaml')) };
}

export function availableRoles(searchPath: string[]): string[] {
  const names = new Set<string>();
  for (const p of searchPath) {
    if (!existsSync(p)) continue;
    for (const d of readdirSync(p)) if (existsSync(join(p, d, 'role.ts'))) names.add(d);
  }
  return [...names];
}

function isRoleDefinition(v: unknown): v is RoleDefinition<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && typeof (v as { tasks?: unknown }).tasks === 'function';
}
