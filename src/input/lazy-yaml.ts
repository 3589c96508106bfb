import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');

const require = createRequire(import.meta.url);
let lib: YamlLib | undefined;

/**
 * The yaml library, loaded on first use (it costs a run about 25 ms): a rerun reads YAML files
 * from the derived cache as JSON and finds the `yaml` template helper's output there too.
 */
export function yamlLib(): YamlLib {
  return (lib ??= require('yaml') as YamlLib);
}

/** Part of every key derived from the yaml library's output: another version may write otherwise. */
export const yamlVersion = (require('yaml/package.json') as { version: string }).version;

/** `value` as a YAML document. */
export function toYaml(value: unknown): string {
  // Never folded: a long value (a K3s token) stays on one line, where masking finds it whole.
  return yamlLib().stringify(value, { lineWidth: 0 });
}
