import type { InputProblem } from '../input/errors.ts';
import { didYouMean } from '../input/schema-check.ts';
import type { VarLayer } from '../inventory/variables.ts';

/**
 * Variables the user set that no role declares: play does not template values, so such a
 * variable is read by nobody, and a typo (`firewal_ssh_sources`, `frr_maximum_path`) would leave
 * the default in force in silence. Reported where the user set them, with the nearest declared
 * name. Ansible's own variables (`ansible_*`) are checked with the connection settings
 * (src/transport/ansible-variables.ts).
 */
export function undeclaredVariables(layers: Iterable<VarLayer>, declared: ReadonlySet<string>): InputProblem[] {
  const known = [...declared];
  const problems: InputProblem[] = [];
  for (const layer of new Set(layers)) {
    for (const name of Object.keys(layer.values)) {
      if (declared.has(name) || name.startsWith('ansible_')) continue;
      problems.push({
        location: layer.locate([name]),
        keyPath: name,
        message: `no role declares this variable${didYouMean(name, known)}: play does not template values, so nothing would read it`,
      });
    }
  }
  return problems;
}
