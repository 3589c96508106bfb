import type { InputProblem } from '../input/errors.ts';
import { didYouMean } from '../input/schema-check.ts';
import type { VarLayer } from '../inventory/variables.ts';

/**
 * Variables the user set in a role's namespace (`frr_`, `metallb_`, … : the first word of any
 * declared variable) that no role declares: a typo like `frr_maximum_path` would otherwise pass
 * silently and leave the default in force. Reported where the user set them, with the nearest
 * declared name. Connection variables (`ansible_*`) and names outside every namespace are the
 * user's own business.
 */
export function undeclaredVariables(layers: Iterable<VarLayer>, declared: ReadonlySet<string>): InputProblem[] {
  const known = [...declared];
  const namespaces = new Set(known.filter((n) => n.includes('_')).map((n) => `${n.slice(0, n.indexOf('_'))}_`));
  namespaces.delete('ansible_');
  const inNamespace = (name: string): boolean => [...namespaces].some((ns) => name.startsWith(ns));
  const problems: InputProblem[] = [];
  for (const layer of new Set(layers)) {
    for (const name of Object.keys(layer.values)) {
      if (declared.has(name) || !inNamespace(name)) continue;
      problems.push({
        location: layer.locate([name]),
        keyPath: name,
        message: `no role declares this variable${didYouMean(name, known)}`,
      });
    }
  }
  return problems;
}
