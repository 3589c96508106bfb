import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { installRoot } from '../input/install-root.ts';
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

/**
 * Where roles are looked for, first match wins: `roles/` beside the playbook, then beside the
 * playbook's folder, then the roles path (--roles-path, $PLAY_ROLES_PATH), then play's own. A role
 * of the user's own repository thus extends or overrides the built-in ones.
 */
export function rolePaths(playbookDir: string, rolesPath: readonly string[] = []): string[] {
  const all = [
    join(playbookDir, 'roles'),
    join(playbookDir, '..', 'roles'),
    ...rolesPath,
    join(installRoot, 'roles'),
  ].map((p) => resolve(p));
  return [...new Set(all)];
}

/** Loads `roles/NAME/role.ts` (TypeScript; no build step: see importRole) and its variables. */
export async function loadRole(
  ref: { name: string; location: SourceLocation },
  searchPath: string[],
): Promise<LoadedRole> {
  const { name } = ref;
  const dir = searchPath.map((p) => join(p, name)).find((d) => existsSync(join(d, 'role.ts')));
  if (!dir) throw InputError.at(ref.location, unknownName('role', name, availableRoles(searchPath)));
  const modulePath = join(dir, 'role.ts');
  const mod = (await importRole(modulePath)) as { default?: unknown };
  const definition = mod.default;
  if (!isRoleDefinition(definition)) {
    throw InputError.at(
      { file: relative(process.cwd(), modulePath) },
      'expected `export default defineRole({ tasks: (ctx) => [...] })`',
    );
  }
  return { name, dir, definition, variables: roleVariables(dir, searchPath) };
}

const variablesOf = new Map<string, RoleVariables>();

/**
 * A role's variables, the ones it borrows (`declaredBy`) resolved from their owners in the same
 * search path; each variables.yaml is read once per run, however many roles borrow from it.
 */
export function roleVariables(dir: string, searchPath: string[]): RoleVariables {
  const file = join(dir, 'variables.yaml');
  let vars = variablesOf.get(file);
  if (!vars) {
    // An owner is read through this same memo; one being read already (a loop of declaredBy)
    // is read without its own borrowings, and its entry then refuses the loop.
    loading.add(file);
    const owners = (role: string): RoleVariables | undefined => {
      const ownerDir = searchPath.map((p) => join(p, role)).find((d) => existsSync(join(d, 'role.ts')));
      if (!ownerDir) return undefined;
      return loading.has(join(ownerDir, 'variables.yaml'))
        ? loadRoleVariables(join(ownerDir, 'variables.yaml'))
        : roleVariables(ownerDir, searchPath);
    };
    try {
      vars = loadRoleVariables(file, owners);
    } finally {
      loading.delete(file);
    }
    variablesOf.set(file, vars);
  }
  return vars;
}

const loading = new Set<string>();

/** The roles a search path offers, by name. */
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

/** The variables of every role in the search path: which names exist at all (typos are not among them). */
export function allRoleVariables(searchPath: string[]): RoleVariables[] {
  const out: RoleVariables[] = [];
  for (const name of availableRoles(searchPath)) {
    const dir = searchPath.map((p) => join(p, name)).find((d) => existsSync(join(d, 'role.ts')));
    try {
      if (dir) out.push(roleVariables(dir, searchPath));
    } catch (e) {
      // A broken role the playbook does not use is not this run's problem; one it uses is reported by loadRole.
      if (!(e instanceof InputError)) throw e;
    }
  }
  return out;
}
