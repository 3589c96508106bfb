import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors.ts';

/**
 * A path as given, or a bare name looked up in the project's folder for such things:
 * `site.yaml` in `playbooks/`, `prod` in `inventory/`.
 */
export function resolveNamed(arg: string, cwd: string, folder: string, kind: string): string {
  const direct = resolve(cwd, arg);
  if (existsSync(direct)) return direct;
  const named = resolve(cwd, folder, arg);
  if (!arg.includes('/') && existsSync(named)) return named;
  throw new UsageError(`${kind} "${arg}" not found: neither ${direct} nor ${named} exists`);
}
