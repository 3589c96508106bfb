import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where play is installed: a checkout, or node_modules/play in the user's own repository. Its
 * playbooks, roles and example inventories are the built-in ones. Found from this module upwards,
 * since play runs from its sources or from a compiled tree below dist/.
 */
export const installRoot: string = findInstallRoot(dirname(fileURLToPath(import.meta.url)));

function findInstallRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'play')
      return dir;
    if (dirname(dir) === dir) throw new Error(`play cannot find its own package.json above ${from}`);
  }
}
