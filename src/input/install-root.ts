import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** play's package name: `play` itself is taken on the npm registry; the command stays `play`. */
export const PACKAGE_NAME = 'vds-play';

/**
 * Where play is installed: a checkout, or node_modules/vds-play in the user's own repository. Its
 * playbooks, roles and example inventories are the built-in ones. Found from this module upwards,
 * since play runs from its sources or from a compiled tree below dist/.
 */
const install = findInstallRoot(dirname(fileURLToPath(import.meta.url)));
export const installRoot: string = install.root;
/** play's version, from its package.json. */
export const playVersion: string = install.version;

function findInstallRoot(from: string): { root: string; version: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    const pkg = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>) : {};
    if (pkg.name === PACKAGE_NAME) return { root: dir, version: String(pkg.version) };
    if (dirname(dir) === dir) throw new Error(`play cannot find its own package.json above ${from}`);
  }
}
