import { InputError, unknownName } from '../input/errors.ts';
import { didYouMean } from '../input/schema-check.ts';
import type { Playbook } from '../playbook/model.ts';

/** What `--tags`, `--skip-tags` and `--role` ask for. */
export interface Selection {
  tags: string[];
  skipTags: string[];
  roles: string[];
}

/** Tags with a meaning of their own, as in Ansible. */
const SPECIAL_TAGS = ['all', 'always', 'never'];

/**
 * Ansible's rules: with no `--tags` everything but `never` runs; `always` runs unless skipped by
 * name; `never` runs only when asked for by name. A role's name is always one of its tags, so
 * `--tags frr-edge` reruns that role.
 */
export function isSelected(taskTags: readonly string[], roleName: string, sel: Selection): boolean {
  if (sel.roles.length > 0 && !sel.roles.includes(roleName)) return false;
  const tags = new Set(taskTags);
  if (sel.skipTags.some((t) => tags.has(t))) return false;
  if (tags.has('always')) return true;
  const asked = sel.tags.length > 0 ? sel.tags : ['all'];
  if (asked.some((t) => tags.has(t))) return true;
  return asked.includes('all') && !tags.has('never');
}

/** `--tags`/`--skip-tags`/`--role` naming something the playbook never uses is an error, listing what exists. */
export function checkSelection(
  sel: Selection,
  knownTags: ReadonlySet<string>,
  knownRoles: ReadonlySet<string>,
): string[] {
  const ordinary = [...knownTags].filter((t) => !SPECIAL_TAGS.includes(t));
  const tagProblems = [...sel.tags, ...sel.skipTags]
    .filter((t) => !knownTags.has(t) && !SPECIAL_TAGS.includes(t))
    .map((t) => unknownName('tag', t, ordinary));
  const roleProblems = sel.roles.filter((r) => !knownRoles.has(r)).map((r) => unknownName('role', r, knownRoles));
  return [...tagProblems, ...roleProblems];
}

/**
 * `--role` naming a role the playbook does not list, refused from the playbook alone: before
 * roles load and before any connection opens.
 */
export function checkRoleOption(roles: readonly string[], playbook: Playbook): void {
  const known = [...new Set(playbook.plays.flatMap((p) => p.roles.map((r) => r.name)))];
  const problems = roles
    .filter((r) => !known.includes(r))
    .map((r) => ({
      location: { file: '--role' },
      message: `${unknownName('role', r, known).replace('known roles', `roles of ${playbook.file}`)}${didYouMean(r, known)}`,
    }));
  if (problems.length > 0) throw new InputError(problems);
}
