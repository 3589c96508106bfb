import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab, freshHosts, removeFirewall } from './lab-fixture.ts';
import { changedTasks, failures, play, siteInventory, type JsonReport } from './play-runner.ts';

const HOSTS = ['edge', 'cp1', 'w1', 'w2'];

/** Changed (or, in check mode, would-change) tasks per host, in the order they ran. */
function changedPerHost(report: JsonReport | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = Object.fromEntries(HOSTS.map((h) => [h, []]));
  for (const r of report?.results ?? [])
    if (r.status === 'changed') out[r.host]?.push(`${r.role} | ${r.task}${r.handler ? ' (handler)' : ''}`);
  return out;
}

describeLab('check mode predicts exactly what the real run then does, on every host of site.yaml', () => {
  let inventory = '';
  beforeAll(async () => {
    await freshHosts(...HOSTS);
    inventory = siteInventory('example-bgp');
  });
  afterAll(async () => {
    await removeFirewall(...HOSTS);
  });

  it('on fresh hosts: --check reports, per host, the very tasks the following run changes', async () => {
    const check = await play(['site.yaml', '-i', inventory, '--check']);
    expect(check.code, failures(check)).toBe(0);
    const apply = await play(['site.yaml', '-i', inventory]);
    expect(apply.code, failures(apply)).toBe(0);
    const predicted = changedPerHost(check.report);
    expect(Object.values(predicted).every((tasks) => tasks.length > 5)).toBe(true);
    expect(predicted).toEqual(changedPerHost(apply.report));
  });

  it('on the converged lab after variable changes in several roles: --check reports what the run then changes', async () => {
    const changes = [
      '-e',
      'frr_maximum_paths=16',
      '-e',
      '{"k3s_extra_config": {"node-label": ["play-test=yes"]}, "firewall_service_ports": [{"port": 8443}]}',
    ];
    const check = await play(['site.yaml', '-i', inventory, '--check', ...changes]);
    expect(check.code, failures(check)).toBe(0);
    const apply = await play(['site.yaml', '-i', inventory, ...changes]);
    expect(apply.code, failures(apply)).toBe(0);
    const predicted = changedPerHost(check.report);
    expect(predicted.edge).toContain('frr-edge | frr.conf');
    expect(predicted.w1).toContain('k3s-config | K3s config');
    expect(predicted.w2).toContain('firewall | firewall ruleset');
    expect(predicted).toEqual(changedPerHost(apply.report));
  });

  it("--limit to one agent reads the token from the server with the server's own connection settings: rc 0, nothing changed", async () => {
    await play(['site.yaml', '-i', inventory]);
    for (const host of ['w1', 'w2']) {
      const r = await play(['site.yaml', '-i', inventory, '--limit', host]);
      expect(r.code, failures(r)).toBe(0);
      expect(changedTasks(r.report)).toEqual([]);
      expect(Object.keys(r.report?.recap ?? {})).toEqual([host]);
      // Plays with no host selected (the servers', MetalLB's, the edge's) print no header.
      expect(r.stdout.match(/^PLAY \[/gm)).toHaveLength(2);
      expect(r.stdout).not.toMatch(/PLAY \[K3s servers|PLAY \[MetalLB|PLAY \[Edge router/);
    }
  });
});
