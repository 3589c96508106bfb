// The benchmark's two inventories for one lab: play's (the lab's hosts and connection, plus the
// example BGP cluster's variables) and Ansible's (the same, plus play's role defaults, which
// Ansible has no other way to know, and the MetalLB objects play renders).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { rolePaths, roleVariables } from '../src/role/load.ts';
import { renderMetallb } from '../roles/l2-or-bgp/render.ts';
import type { MetallbVars } from '../roles/_shared/metallb.ts';
import { labExampleVars, writeLabExampleInventory } from '../test/lab/example-inventory.ts';

export const root = join(import.meta.dirname, '..');
const EXAMPLE = 'example-bgp';

export interface BenchInventories {
  play: string;
  ansible: string;
}

function roleDefaults(): Record<string, unknown> {
  const roles = readdirSync(join(root, 'roles')).filter((r) => !r.startsWith('_'));
  return Object.assign(
    {},
    ...roles.map((r) => roleVariables(join(root, 'roles', r), rolePaths(join(root, 'playbooks'))).defaults.values),
  );
}

/** Writes both inventories under `<labDir>/bench/` from the lab's generated inventory. */
export function writeInventories(labInventory: string, labDir: string): BenchInventories {
  const out = join(labDir, 'bench');
  const play = join(out, 'play-inventory');
  const ansible = join(out, 'ansible-inventory');
  for (const dir of [play, ansible]) writeLabExampleInventory(labInventory, dir, EXAMPLE);
  const defaults = roleDefaults();
  writeFileSync(
    join(ansible, 'group_vars/all/00-play-defaults.yaml'),
    `# play's role defaults (roles/*/variables.yaml)\n${stringify(defaults)}`,
  );
  const labVars = parse(readFileSync(join(labInventory, 'group_vars/all.yaml'), 'utf8')) as Record<string, unknown>;
  const objects = renderMetallb({ ...defaults, ...labExampleVars(EXAMPLE), ...labVars } as unknown as MetallbVars);
  // Outside the inventory folder: Ansible would try to read it as inventory.
  const objectsFile = join(out, 'metallb-objects.yaml');
  writeFileSync(objectsFile, objects.map((o) => stringify(o)).join('---\n'));
  writeFileSync(join(ansible, 'group_vars/all/30-bench.yaml'), stringify({ bench_metallb_objects_file: objectsFile }));
  return { play, ansible };
}
