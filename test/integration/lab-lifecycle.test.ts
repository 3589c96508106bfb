import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { $, type ProcessPromise } from 'zx';
import { describeLab } from './lab-fixture.ts';
import { labNames, netnsEtcDir, statePath } from '../lab/paths.ts';
import { leftovers } from '../lab/teardown.ts';
import { readState } from '../lab/state.ts';

const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';

/** A second lab of its own, so crashing, scaling and tearing it down leave the suite's lab alone. */
const LIFE = labNames('life');
const cli = (...args: string[]): ProcessPromise =>
  $({ quiet: true, nothrow: true })`node --import tsx test/lab/cli.ts --name life ${args}`;

async function expectNothingLeft(): Promise<void> {
  expect(await leftovers(LIFE)).toEqual([]);
  expect(existsSync(netnsEtcDir(LIFE))).toBe(false);
  expect(existsSync(statePath(LIFE))).toBe(false);
  const ps = await $({ quiet: true })`ps -eo args`;
  expect(ps.stdout).not.toContain(LIFE.hostPrefix);
  const links = await $({ quiet: true })`ip -o link`;
  expect(links.stdout).not.toMatch(/\bv-(edge|cp1|w1)\b/);
}

/** SIGKILL to `up` alone, as a crash would: the hosts it already started keep running. */
function crash(run: ProcessPromise): void {
  process.kill(run.child!.pid!, 'SIGKILL');
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeLab('lab lifecycle', () => {
  afterAll(async () => {
    await cli('down');
  });

  it('refuses a bad topology file before touching anything, naming file, line and key', async () => {
    const file = join(tmpdir(), 'play-lab-bad-topology.yaml');
    writeFileSync(
      file,
      'subnet: 192.0.2.0/24\ncontroller: 192.0.2.254\nhosts:\n  - name: edge\n    address: 192.0.2.1\n  - name: cp1\n    address: 198.51.100.7\n',
    );
    const r = await cli('up', '--topology', file);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${file}:7: hosts[1].address: expected a host address in 192.0.2.0/24`);
    await expectNothingLeft();
  });

  it('boots, reports status, runs commands in the controller namespace, and survives a crashed host on the way down', async () => {
    const upRun = await cli('up', '--workers', '1');
    expect(upRun.exitCode, upRun.stderr).toBe(0);
    expect(upRun.stdout).toMatch(/w1\s+192\.0\.2\.12\s+k3s_agent\s+booted\s+running/);

    const exec = await cli('exec', 'ip', '-4', '-br', 'addr', 'show', 'br0');
    expect(exec.stdout).toContain('192.0.2.254/24');
    const viaSsh = await cli('exec', 'ssh', 'w1', 'hostname');
    expect(viaSsh.stdout.trim()).toBe('w1');

    const state = readState(LIFE);
    const w1 = state!.hosts.find((h) => h.name === 'w1')!;
    process.kill(w1.pid, 'SIGKILL');
    await until(() => !existsSync(`/proc/${w1.pid}/cmdline`), 5_000);
    const status = await cli('status');
    expect(status.exitCode).toBe(3);
    expect(status.stdout).toMatch(/PARTLY DOWN/);
    expect(status.stdout).toMatch(/w1\s+192\.0\.2\.12\s+k3s_agent\s+DOWN/);

    expect((await cli('down')).exitCode).toBe(0);
    await expectNothingLeft();
    expect((await cli('status')).stdout).toContain('lab life: not running');
  });

  it('boots the benchmark size, 32 hosts, raising the inotify allowance their systemds need', async () => {
    // Debian's default: at about 20 hosts, systemd in the later ones fails to start sshd.
    writeFileSync(INOTIFY_INSTANCES, '128');
    const r = await cli('up', '--workers', '30');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('raised fs.inotify.max_user_instances from 128 to 1152 for 32 hosts');
    expect(r.stdout.match(/ booted {2}running$/gm)).toHaveLength(32);
    expect((await cli('exec', 'ssh', 'w30', 'hostname')).stdout.trim()).toBe('w30');
    expect((await cli('down')).exitCode).toBe(0);
    await expectNothingLeft();
  });

  it('tears down a lab whose state.json was lost, finding its pieces by name', async () => {
    expect((await cli('up', '--workers', '0')).exitCode).toBe(0);
    rmSync(statePath(LIFE));
    const status = await cli('status');
    expect(status.stdout).toContain('lab life: not running');
    expect(status.stdout).toMatch(
      /process \d+ \(systemd-nspawn\)[\s\S]*network namespace plab-life\.cp1[\s\S]*mount .*\/hosts\/cp1\/root[\s\S]*cgroup .*play-lab\/plab-life\.edge/,
    );
    expect((await cli('down')).exitCode).toBe(0);
    await expectNothingLeft();
  });

  it('tears down a lab killed while its hosts were booting', async () => {
    const upRun = cli('up', '--workers', '1');
    await until(() => existsSync(statePath(LIFE)), 60_000);
    crash(upRun);
    await upRun;
    expect((await leftovers(LIFE)).some((l) => l.includes('systemd-nspawn'))).toBe(true);
    expect((await cli('down')).exitCode).toBe(0);
    await expectNothingLeft();
  });
});
