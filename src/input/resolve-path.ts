import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors.ts';

/**
 * A path as given, or a bare name looked up in the project's folder for such things
 * (`site.yaml` in `playbooks/`, `prod` in `inventory/`), then in `builtIn` (play's own playbooks).
 */
export function resolveNamed(arg: string, cwd: string, folder: string, kind: string, builtIn?: string): string {
  const tried = [resolve(cwd, arg)];
  if (!arg.includes('/')) tried.push(resolve(cwd, folder, arg), ...(builtIn ? [resolve(builtIn, arg)] : []));
  const found = tried.find((p) => existsSync(p));
  if (found) return found;
  throw new UsageError(`${kind} "${arg}" not found; tried ${tried.join(', ')}`);
}
