import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_VAULT } from '../../../src/input/vault.ts';
import { loadInventory } from '../../../src/inventory/load.ts';
import { hostsOfGroup, inventoryLayers, type Inventory } from '../../../src/inventory/model.ts';
import { PatternError, selectHosts } from '../../../src/inventory/patterns.ts';
import { mergeLayers, valuesOf } from '../../../src/inventory/variables.ts';
import { generateCase } from './generate.ts';
import { askAnsible, type Answer, type Hosts } from './oracle.ts';

// play against ansible-core itself (installed by scripts/setup for the benchmark), on generated
// inventories: the hosts a pattern and a --limit select and their order, each group's hosts, every
// host's variables. Where Ansible selects nothing or errs, play may refuse (a typo must not
// silently skip hosts); it may never give another answer.

const CASES = 300;

/** play's answer, or `refused` where play says the pattern selects nothing. */
function select(inv: Inventory, pattern: string, limit?: string): string[] | 'refused' {
  try {
    const hosts = selectHosts(inv, pattern);
    return limit === undefined ? hosts : selectHosts(inv, limit, hosts);
  } catch (e) {
    if (e instanceof PatternError) return 'refused';
    throw e;
  }
}

/**
 * Equal answers, or play refusing where Ansible failed, found nothing, or went on without a term
 * that matched nothing (a typo Ansible only warns about).
 */
function agree(play: string[] | 'refused', ansible: Hosts, skippedTerm: boolean): boolean {
  if (play === 'refused') return skippedTerm || !Array.isArray(ansible) || ansible.length === 0;
  return Array.isArray(ansible) && JSON.stringify(play) === JSON.stringify(ansible);
}

describe('Ansible inventories mean in play what they mean in ansible-core', () => {
  const cases = Array.from({ length: CASES }, (_, i) => generateCase(1000 + i));
  const answers = askAnsible(cases);
  afterAll(() =>
    cases.forEach((c) =>
      [c.dir, c.playbook_dir ?? ''].forEach((d) => d && rmSync(d, { recursive: true, force: true })),
    ),
  );

  it(`selects the same hosts, in the same order, for ${CASES} generated inventories and their patterns`, () => {
    const differences: string[] = [];
    cases.forEach((c, i) => {
      const inv = loadInventory(c.dir, NO_VAULT, c.playbook_dir);
      const answer = answers[i] as Answer;
      for (const [pattern, ansible] of Object.entries(answer.patterns)) {
        const play = select(inv, pattern);
        if (!agree(play, ansible, answer.empty[pattern] === true))
          differences.push(`${c.dir} ${pattern}: play ${JSON.stringify(play)}, ansible ${JSON.stringify(ansible)}`);
      }
      c.limits.forEach(([pattern, limit], j) => {
        const play = select(inv, pattern, limit);
        const ansible = answer.limited[j] as Hosts;
        if (!agree(play, ansible, answer.empty[pattern] === true || answer.empty[limit] === true))
          differences.push(
            `${c.dir} ${pattern} --limit ${limit}: play ${JSON.stringify(play)}, ansible ${JSON.stringify(ansible)}`,
          );
      });
    });
    expect(differences.slice(0, 10)).toEqual([]);
  });

  it('puts the same hosts in each group, in the same order', () => {
    const differences: string[] = [];
    cases.forEach((c, i) => {
      const inv = loadInventory(c.dir, NO_VAULT, c.playbook_dir);
      for (const [group, ansible] of Object.entries((answers[i] as Answer).groups)) {
        const play = hostsOfGroup(inv, group);
        if (JSON.stringify(play) !== JSON.stringify(ansible))
          differences.push(`${c.dir} ${group}: play ${JSON.stringify(play)}, ansible ${JSON.stringify(ansible)}`);
      }
    });
    expect(differences.slice(0, 10)).toEqual([]);
  });

  it('gives every host the same variables (inline vars, group_vars, host_vars, depth, priority)', () => {
    const differences: string[] = [];
    cases.forEach((c, i) => {
      const inv = loadInventory(c.dir, NO_VAULT, c.playbook_dir);
      for (const [host, ansible] of Object.entries((answers[i] as Answer).vars)) {
        const all = valuesOf(mergeLayers(inventoryLayers(inv, host)));
        const play = Object.fromEntries(
          c.vars
            .filter((k) => k in all)
            .sort()
            .map((k) => [k, all[k]]),
        );
        if (JSON.stringify(play) !== JSON.stringify(ansible))
          differences.push(`${c.dir} ${host}: play ${JSON.stringify(play)}, ansible ${JSON.stringify(ansible)}`);
      }
    });
    expect(differences.slice(0, 10)).toEqual([]);
  });
});
