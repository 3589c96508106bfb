import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { afterAll, expect, it } from 'vitest';
import { describeLab, freshHosts, lab } from './lab-fixture.ts';
import { MEASURES } from '../../bench/rounds.ts';
import type { Results } from '../../bench/report.ts';

// The harness with one round on the test lab, so it cannot rot: both tools' first applies, every
// no-op on hosts the other tool converged (a change there fails the run), the table and the JSON.
// The targets are benchmark figures, not asserted here.
describeLab('npm run bench, one round on the default lab', () => {
  afterAll(async () => {
    await freshHosts(); // other test files share these hosts: no firewall, no cluster left behind
  });

  it('measures every figure, proves the two playbooks equivalent, and writes the results', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    const r = await $({
      quiet: true,
      nothrow: true,
      // Before the test's own 600 s: a bench that hangs is cut here, and its log is the failure's message.
      timeout: '540s',
      cwd: join(import.meta.dirname, '../..'),
    })`npx tsx bench/cli.ts --lab ${lab().names.lab} --hosts 4 --rounds 1 --out ${out}`;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`reusing lab ${lab().names.lab} (4 hosts)`);
    const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    expect(results.hosts).toBe(4);
    expect(Object.keys(results.figures).sort()).toEqual([...MEASURES].sort());
    for (const [name, f] of Object.entries(results.figures)) {
      expect(f.samples.length, name).toBe(name.endsWith('first apply') || name.endsWith('service at edge') ? 1 : 2);
      expect(f.seconds.min, name).toBeGreaterThan(0);
      expect(f.peakRssMb.max, name).toBeGreaterThan(10);
    }
    // The floor is the least any of them can take.
    // A Service learnt at the edge comes after the apply that installed MetalLB.
    for (const tool of ['play', 'ansible'] as const)
      expect(results.figures[`${tool} to service at edge`]?.seconds.median, tool).toBeGreaterThan(
        results.figures[`${tool} first apply`]?.seconds.median ?? Infinity,
      );
    const floor = results.figures.floor?.seconds.median ?? NaN;
    for (const name of MEASURES.filter((m) => m !== 'floor'))
      expect(results.figures[name]?.seconds.median, name).toBeGreaterThan(floor);
    expect(results.ratios.map((x) => x.name)).toContain('ansible no-op / play no-op');
    expect(results.versions['ansible-core']).toMatch(/^2\.\d+\.\d+/);
    for (const name of MEASURES) expect(r.stdout).toMatch(new RegExp(`^${name} +\\d+\\.\\d\\d `, 'm'));
  }, 600_000);
});
