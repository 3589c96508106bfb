import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { $ } from 'zx';
import { describeLab, lab, onHostOk } from './lab-fixture.ts';
import { HostNotReady, waitForHosts } from '../lab/readiness.ts';
import type { HostState } from '../lab/state.ts';

const consoleLog = join(tmpdir(), 'play-lab-ghost-console.log');

/** An address on the lab segment where no host answers, with a console log of its own. */
function ghost(pid: number): HostState {
  writeFileSync(consoleLog, `${Array.from({ length: 40 }, (_, i) => `boot line ${i}`).join('\n')}\n`);
  return { name: 'ghost', address: '192.0.2.99', groups: [], namespace: 'none', pid, layer: '', root: '', consoleLog };
}

describeLab('lab readiness', () => {
  it('a host that never answers SSH fails the wait, named, with the tail of its console log', async () => {
    const { names } = lab();
    const started = Date.now();
    const error = await waitForHosts(names, [ghost(process.pid)], 3_000, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotReady);
    const message = (error as Error).message;
    expect(message).toMatch(/^host ghost \(192\.0\.2\.99\): not ready before the timeout \(ssh: .+\)/);
    expect(message).toContain(`--- last lines of ${consoleLog} ---\nboot line 15\n`);
    expect(message).not.toContain('boot line 14\n');
    expect(message.trimEnd().endsWith('boot line 39')).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a host whose systemd-nspawn died fails at once, without waiting for the timeout', async () => {
    const { names } = lab();
    const dead = (await $({ quiet: true })`sh -c 'echo $$'`).stdout.trim();
    const started = Date.now();
    const error = await waitForHosts(names, [ghost(Number(dead))], 60_000, () => {}).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^host ghost \(192\.0\.2\.99\): its systemd-nspawn exited during boot/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a degraded host counts as ready, and the reason is reported', async () => {
    const { names, host } = lab();
    await onHostOk('w2', 'systemd-run --unit=play-probe-broken --service-type=oneshot false || true');
    try {
      const logged: string[] = [];
      await waitForHosts(names, [host('w2')], 20_000, (m) => logged.push(m));
      expect(logged.join('\n')).toMatch(/^w2: degraded: play-probe-broken\.service .*failed/m);
    } finally {
      await onHostOk('w2', 'systemctl reset-failed');
    }
    expect((await onHostOk('w2', 'systemctl is-system-running')).trim()).toBe('running');
  });
});
