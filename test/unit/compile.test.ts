import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../../src/engine/compile.ts';
import { listTags, listTasks } from '../../src/cli/listing.ts';
import { InputError } from '../../src/input/errors.ts';
import { loadInventory } from '../../src/inventory/load.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { extraVarsLayer } from '../../src/cli/extra-vars.ts';

const root = join(import.meta.dirname, '../fixtures');
const inv = loadInventory(join(root, 'inventories/cluster'));
const options = (o: Partial<CompileOptions> = {}): CompileOptions => ({
  extraVars: [],
  selection: { tags: [], skipTags: [], roles: [] },
  ...o,
});
const pb = (name: string) => loadPlaybook(join(root, 'project/playbooks', name));

async function problems(name: string, o?: Partial<CompileOptions>): Promise<string> {
  try {
    await compile(pb(name), inv, options(o));
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
  throw new Error('compiled without problems');
}

describe('compile: everything checked before any host is contacted', () => {
  it('an unknown role is named, with the roles that exist', async () => {
    expect(await problems('bad-role-ref.yaml')).toMatch(
      /bad-role-ref\.yaml:4:7: unknown role "demoo"; known roles: broken, demo, firewall, frr-edge, k3s-config, l2-or-bgp, metallb-install, motd, node-maintenance, slow, sysctl, transfer/,
    );
  });

  it('roles are found first: a missing one stops compilation before any role code runs', async () => {
    const text = await problems('broken.yaml');
    expect(text.split('\n')).toEqual([
      expect.stringMatching(
        /broken\.yaml:4:7: unknown role "nosuchrole"; known roles: broken, demo, firewall, frr-edge, k3s-config, l2-or-bgp, metallb-install, motd, node-maintenance, slow, sysctl, transfer$/,
      ),
    ]);
  });

  it('templates (strict) and handler names are checked for every host', async () => {
    const onlyBroken = { ...pb('broken.yaml') };
    onlyBroken.plays = onlyBroken.plays.map((p) => ({ ...p, roles: p.roles.filter((r) => r.name === 'broken') }));
    let text = '';
    try {
      await compile(onlyBroken, inv, options());
    } catch (e) {
      text = (e as Error).message;
    }
    expect(text).toMatch(
      /roles\/broken\/role\.ts: task "uses an undefined variable": template roles\/broken\/templates\/typo\.conf\.hbs: line 2: variable "brokne_name" is not defined \(role broken, hosts w1, w2\)/,
    );
    expect(text).toMatch(
      /task "notifies nobody" notifies unknown handler "restart nothing"; handlers: reload x \(role broken, hosts w1, w2\)/,
    );
    expect(text).toMatch(
      /task "reload x" is superseded by unknown handler "restart x"; handlers: reload x \(role broken, hosts w1, w2\)/,
    );
  });

  it('variables are validated per role with where they were set; secrets collected', async () => {
    const bad = await problems('demo.yaml', { extraVars: [extraVarsLayer('demo_token=short', 0, root)] });
    expect(bad).toMatch(
      /-e #1: demo_token: expected a string of at least 8 character\(s\) \(role demo, hosts cp1, w1, w2\)/,
    );
    const run = await compile(
      pb('demo.yaml'),
      inv,
      options({ extraVars: [extraVarsLayer('demo_token=long-enough-token', 0, root)] }),
    );
    expect(run.secrets).toEqual(['long-enough-token']);
    const otherRole = await compile(
      pb('demo.yaml'),
      inv,
      options({
        extraVars: [extraVarsLayer('demo_token=long-enough-token', 0, root)],
        selection: { tags: [], skipTags: [], roles: ['motd'] },
      }),
    );
    expect(otherRole.secrets).toEqual(['long-enough-token']);
  });

  it('lists tasks and tags as selected by --tags, --skip-tags and --role', async () => {
    const e = [extraVarsLayer('demo_token=long-enough-token', 0, root)];
    const run = await compile(
      pb('demo.yaml'),
      inv,
      options({ extraVars: e, selection: { tags: ['config', 'banner'], skipTags: [], roles: [] } }),
    );
    expect(listTasks(run)).toEqual([
      'play "demo service on the cluster":',
      '  demo | demo config    TAGS: [demo, config]',
      '  demo | flush handlers    TAGS: [demo, always]',
      '  motd | motd    TAGS: [banner, motd, motd-file]',
    ]);
    expect(listTags(run)).toEqual([
      'play "demo service on the cluster": TASK TAGS: [always, banner, config, demo, motd, motd-file, packages]',
    ]);
    const motdOnly = await compile(
      pb('demo.yaml'),
      inv,
      options({ extraVars: e, selection: { tags: [], skipTags: [], roles: ['motd'] } }),
    );
    expect(motdOnly.plays[0]?.roles.map((r) => [r.name, r.tasks.get('w1')?.length])).toEqual([['motd', 1]]);
  });
});
