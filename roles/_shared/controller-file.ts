import { readFileSync } from 'node:fs';

const read = new Map<string, Buffer>();

/**
 * A file on the controller a role copies to hosts (an airgap binary, a release manifest), read
 * once per run however many hosts get it. `variable` names the setting in the error.
 */
export function controllerFile(path: string, variable: string): Buffer {
  let content = read.get(path);
  if (!content) {
    try {
      content = readFileSync(path);
    } catch {
      throw new Error(`${variable} ${path} cannot be read on the controller`);
    }
    read.set(path, content);
  }
  return content;
}
