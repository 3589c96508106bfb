import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { beforeEach, expect, it } from 'vitest';
import { projectRoot } from '../lab/paths.ts';
import { TEST_LAB } from '../lab/vitest-global-setup.ts';
import { describeLab, eventually, lab, onHost, onHostOk } from './lab-fixture.ts';
import { failures, fixturePlaybook, labInventoryWith, play, type JsonReport, type PlayRun } from './play-runner.ts';

const SLOW = '/var/tmp/play-slow';
const DIR = '/var/tmp/play-transfer';
const ORIGINAL = 'the original content\n';
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
/** A shell command that writes `text` to `path` on a host, byte for byte. */
const writeOnHost = (path: string, text: string): string =>
  `echo ${Buffer.from(text).toString('base64')} | base64 -d > ${path}`;
const inController = (cmd: string[]) =>
  $({ quiet: true, nothrow: true })`ip netns exec ${lab().names.controller} ${cmd}`;
const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) =>
  eventually(what, check, (v) => v, { timeoutMs, intervalMs: 100 });
const slowStarted = async () => (await onHost('w1', `test -e ${SLOW}/started`)).exitCode === 0;
/** Waits until the transfer is under way; a run that ends first fails the test with its output. */
async function transferUnderWay(run: Promise<PlayRun>): Promise<void> {
  let ended: PlayRun | undefined;
  void run.then((r) => (ended = r));
  await eventually(
    'the transfer to be under way',
    async () => ended ?? (await tempSize()),
    (v) => typeof v !== 'number' || v > 4 * 1024 * 1024,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  if (ended) throw new Error(`play ended before the transfer was under way:\n${failures(ended)}`);
}

/** The temp file a write is filling, and how far it got. */
const tempSize = async () =>
  Number((await onHost('w1', `stat -c %s ${DIR}/.play-* 2>/dev/null | head -1`)).stdout.trim() || 0);
const leftovers = async () => (await onHostOk('w1', `ls -A ${DIR}`)).split('\n').filter((f) => f.startsWith('.play-'));

interface Outer {
  child: ChildProcess;
  /** Resolves once every writer of the output pipe closed it: play's last line included. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}

/** Starts a command line the way an operator's shell would: its own process group, output piped. */
function launch(argv: string[], env: Record<string, string> = {}): Outer {
  const child = spawn(argv[0] ?? '', argv.slice(1), {
    cwd: projectRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const out: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => out.push(d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString() }));
  });
  return { child, done };
}

/** A `--json` path unique to one run: it also finds the run's processes. */
const reportPath = (): string => join(mkdtempSync(join(tmpdir(), 'play-stop-')), 'report.json');
const readReport = (file: string): JsonReport | undefined =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as JsonReport) : undefined;
const playProcesses = async (marker: string) =>
  (await $({ quiet: true, nothrow: true })`pgrep -f ${marker}`).stdout.trim();

describeLab('stopping a run: signals, grace, cut transfers, files never half-written', () => {
  beforeEach(async () => {
    await onHostOk('w1', `rm -rf ${SLOW} ${DIR}; mkdir -p ${DIR}; ${writeOnHost(`${DIR}/file`, ORIGINAL)}`);
  });

  it('a connection dropped mid-transfer leaves the old file byte-identical and no temp file', async () => {
    const src = join(mkdtempSync(join(tmpdir(), 'play-big-')), 'big');
    writeFileSync(src, randomBytes(48 * 1024 * 1024));
    const inventory = labInventoryWith({ ansible_timeout: 2 });
    const { controller } = lab().names;
    // Slow the link to w1 so the transfer is caught half-way.
    await $({
      quiet: true,
    })`ip netns exec ${controller} tc qdisc add dev v-w1 root tbf rate 80mbit burst 64kb latency 500ms`;
    try {
      const run = play([fixturePlaybook('transfer.yaml'), '-i', inventory, '-l', 'w1', '-e', `transfer_src=${src}`]);
      await transferUnderWay(run);
      await inController(['ip', 'link', 'set', 'v-w1', 'down']);
      const r = await run;
      expect(r.code, failures(r)).toBe(4);
      expect(r.stdout).toMatch(/\[w1\] transfer \| transferred file: UNREACHABLE: connection to 192\.0\.2\.12 lost/);
    } finally {
      await inController(['ip', 'link', 'set', 'v-w1', 'up']);
      await inController(['tc', 'qdisc', 'del', 'dev', 'v-w1', 'root']);
    }
    // With the link back, the host's sshd learns the connection is gone and its shell ends.
    await waitFor('the cut write to clean up after itself', async () => (await leftovers()).length === 0);
    expect(await onHostOk('w1', `cat ${DIR}/file`)).toBe(ORIGINAL);
  });

  it('SIGTERM mid-transfer: after --stop-grace the write is cut and reported interrupted; recap, --json, exit 99; the old file whole', async () => {
    const src = join(mkdtempSync(join(tmpdir(), 'play-big-')), 'big');
    writeFileSync(src, randomBytes(48 * 1024 * 1024));
    const { controller } = lab().names;
    await $({
      quiet: true,
    })`ip netns exec ${controller} tc qdisc add dev v-w1 root tbf rate 80mbit burst 64kb latency 500ms`;
    try {
      let child: ChildProcess | undefined;
      const run = play(
        [
          fixturePlaybook('transfer.yaml'),
          '-i',
          lab().state.inventory,
          '-l',
          'w1',
          '-e',
          `transfer_src=${src}`,
          '--stop-grace',
          '1',
        ],
        { started: (c) => (child = c) },
      );
      await transferUnderWay(run);
      const signalled = Date.now();
      child?.kill('SIGTERM');
      const r = await run;
      expect(Date.now() - signalled).toBeLessThan(8000);
      expect(r.code, failures(r)).toBe(99);
      expect(r.stdout).toMatch(/SIGTERM: stopping: no new task starts; tasks in flight get 1 s to finish/);
      expect(r.stdout).toMatch(/\[w1\] transfer \| transferred file: INTERRUPTED: cut/);
      expect(r.stdout).toMatch(
        /RECAP\nw1\s+ok=0 changed=0 unreachable=0 failed=0 skipped=0 interrupted=1\ntotal [\d.]+ s wall time — interrupted/,
      );
      expect(r.report).toMatchObject({ exitCode: 99, interrupted: true });
      expect(r.report?.results.map((t) => `${t.task} ${t.status}`)).toEqual(['transferred file interrupted']);
    } finally {
      await inController(['tc', 'qdisc', 'del', 'dev', 'v-w1', 'root']);
    }
    await waitFor('the cut write to clean up after itself', async () => (await leftovers()).length === 0);
    expect(sha256(await onHostOk('w1', `cat ${DIR}/file`))).toBe(sha256(ORIGINAL));
  });

  it('a run whose remote command hangs: one SIGTERM ends it after the grace, the remote command killed; Ctrl-C twice cuts at once', async () => {
    const args = [fixturePlaybook('slow.yaml'), '-i', lab().state.inventory, '-l', 'w1'];
    let child: ChildProcess | undefined;
    const once = play([...args, '--stop-grace', '2'], { started: (c) => (child = c) });
    await waitFor('w1 to wait for go', slowStarted);
    const signalled = Date.now();
    child?.kill('SIGTERM');
    const r = await once;
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(2000);
    expect(Date.now() - signalled).toBeLessThan(7000);
    expect(r.code, failures(r)).toBe(99);
    expect(r.stdout).toMatch(/\[w1\] slow \| wait for go: INTERRUPTED/);
    expect(r.report?.recap.w1).toMatchObject({ changed: 2, interrupted: 1 });
    await waitFor(
      'the remote poll to be gone',
      async () => (await onHost('w1', `pgrep -f '[p]lay-slow/go'`)).exitCode === 1,
      5000,
    );

    await onHostOk('w1', `rm -rf ${SLOW}`);
    const twice = play([...args, '--stop-grace', '60'], { started: (c) => (child = c) });
    await waitFor('w1 to wait for go', slowStarted);
    const first = Date.now();
    child?.kill('SIGINT');
    // A copy of the same Ctrl-C (npx and npm relay it) is not a second one.
    child?.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child?.kill('SIGINT');
    const t = await twice;
    expect(Date.now() - first).toBeLessThan(6000);
    expect(t.code, failures(t)).toBe(99);
    expect(t.stdout).toMatch(/second SIGINT: cutting the tasks still running/);
    expect(t.stdout).toMatch(/INTERRUPTED: no new task was started; tasks still running were cut/);
  });

  const launchPaths: {
    name: string;
    argv: (json: string, args: string[]) => string[];
    env?: Record<string, string>;
    stop: (child: ChildProcess) => void;
  }[] = [
    {
      name: 'npx play, Ctrl-C on the terminal (SIGINT to the process group)',
      argv: (json, args) => ['ip', 'netns', 'exec', lab().names.controller, 'npx', 'play', ...args, '--json', json],
      stop: (c) => process.kill(-(c.pid ?? 0), 'SIGINT'),
    },
    {
      name: 'npm run lab:exec -- npx play, Ctrl-C on the terminal',
      argv: (json, args) => ['npm', 'run', 'lab:exec', '--', 'npx', 'play', ...args, '--json', json],
      env: { PLAY_LAB: TEST_LAB },
      stop: (c) => process.kill(-(c.pid ?? 0), 'SIGINT'),
    },
    {
      name: 'npx play, SIGTERM to npx alone (its shell dies without passing it on)',
      argv: (json, args) => ['ip', 'netns', 'exec', lab().names.controller, 'npx', 'play', ...args, '--json', json],
      stop: (c) => c.kill('SIGTERM'),
    },
    {
      name: 'timeout 6 npx play (timeout sends SIGTERM)',
      argv: (json, args) => [
        'timeout',
        '6',
        'ip',
        'netns',
        'exec',
        lab().names.controller,
        'npx',
        'play',
        ...args,
        '--json',
        json,
      ],
      stop: () => undefined,
    },
  ];

  it.each(launchPaths)(
    '$name: play stops, prints its recap, writes --json, leaves no process',
    async ({ argv, env, stop }) => {
      const json = reportPath();
      const run = launch(
        argv(json, [fixturePlaybook('slow.yaml'), '-i', lab().state.inventory, '-l', 'w1', '--stop-grace', '2']),
        env,
      );
      await waitFor('w1 to wait for go', slowStarted);
      stop(run.child);
      const r = await run.done;
      expect(r.stdout).toMatch(/\[w1\] slow \| wait for go: INTERRUPTED/);
      expect(r.stdout).toMatch(/RECAP\nw1\s+ok=0 changed=2 unreachable=0 failed=0 skipped=0 interrupted=1/);
      expect(readReport(json)).toMatchObject({ exitCode: 99, interrupted: true });
      expect(await playProcesses(json)).toBe('');
    },
  );

  it('a 0600 file is never readable by another user on the host while it is written', async () => {
    await onHostOk('w1', `chmod 0755 ${DIR}`);
    // A reader as nobody that tries every file in the directory as fast as it can, without forking.
    const watcher = [
      'import os, time',
      `d = ${JSON.stringify(DIR)}; seen = 0; end = time.time() + 60`,
      'while time.time() < end and not os.path.exists("/tmp/stop-watching"):',
      '    for n in os.listdir(d):',
      '        try:',
      '            with open(os.path.join(d, n), "rb") as f: data = f.read()',
      '        except OSError: continue',
      '        if b"TOKEN-" in data: seen += 1',
      'print(seen)',
    ].join('\n');
    await onHostOk(
      'w1',
      `rm -f /tmp/stop-watching /tmp/seen; ${writeOnHost('/tmp/watch.py', watcher)}; setpriv --reuid=nobody --regid=nogroup --clear-groups python3 /tmp/watch.py > /tmp/seen 2>&1 &`,
    );
    for (let i = 0; i < 15; i++) {
      const r = await play([
        fixturePlaybook('transfer.yaml'),
        '-i',
        lab().state.inventory,
        '-l',
        'w1',
        '-e',
        `transfer_text=TOKEN-${i}-${'x'.repeat(100_000)}`,
        '-e',
        'transfer_mode=0600',
      ]);
      expect(r.code, failures(r)).toBe(0);
    }
    await onHostOk('w1', 'touch /tmp/stop-watching');
    const seen = await eventually(
      'the watcher to report',
      async () => (await onHost('w1', 'cat /tmp/seen')).stdout.trim(),
      (v) => v !== '',
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(seen).toBe('0');
    expect(await onHostOk('w1', `stat -c %a ${DIR}/file`)).toBe('600\n');
  });
});
