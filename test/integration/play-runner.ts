import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../lab/paths.ts';
import type { TaskResult } from '../../src/engine/events.ts';
import { labExampleVars, type LabSpeaker } from '../lab/example-inventory.ts';
import { q } from '../../src/transport/shell.ts';
import { lab, onHost } from './lab-fixture.ts';

export const fixtureProject = join(projectRoot, 'test/fixtures/project');
export const fixturePlaybook = (name: string): string => join(fixtureProject, 'playbooks', name);

export interface JsonReport {
  exitCode: number;
  check: boolean;
  interrupted: boolean;
  recap: Record<string, { ok: number; changed: number; unreachable: number; failed: number; skipped: number }>;
  results: TaskResult[];
}

export interface PlayRun {
  code: number | null;
  stdout: string;
  stderr: string;
  report?: JsonReport;
}

export interface PlayOptions {
  /** Called once the process is started, e.g. to interrupt it. */
  started?: (child: ChildProcess) => void;
  timeoutMs?: number;
  /** Environment variables to set (an empty string unsets one). */
  env?: Record<string, string>;
  /** Run from this directory (default: the checkout). */
  cwd?: string;
  /** The launcher to run (default: the checkout's bin/play.mjs), e.g. an installed package's. */
  bin?: string;
}

/**
 * Runs the real `play` CLI from the lab's controller namespace (where the hosts are reachable),
 * with a JSON report.
 */
export function play(args: string[], options: PlayOptions = {}): Promise<PlayRun> {
  const { names } = lab();
  const reportFile = join(mkdtempSync(join(tmpdir(), 'play-run-')), 'report.json');
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      names.controller,
      process.execPath,
      options.bin ?? join(projectRoot, 'bin/play.mjs'),
      ...args,
      '--json',
      reportFile,
    ],
    {
      cwd: options.cwd ?? projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: withEnv(options.env),
    },
  );
  options.started?.(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  return new Promise((resolve, reject) => {
    // Read before the kill: the process's close would otherwise settle this first.
    const timer = setTimeout(() => {
      void clusterSnapshot().then((snapshot) => {
        reject(
          new Error(
            `play ${args.join(' ')} did not finish in time\n${Buffer.concat(out).toString()}\n--- the cluster then ---\n${snapshot}`,
          ),
        );
        child.kill('SIGKILL');
      });
    }, options.timeoutMs ?? 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as JsonReport) : undefined;
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), report });
    });
  });
}

/**
 * What the cluster looked like when a run hung, read from the server: a run that waits for MetalLB
 * forever says nothing itself, and the lab is reset before anyone can look.
 */
async function clusterSnapshot(): Promise<string> {
  const server = lab().state.hosts.find((h) => h.groups.includes('k3s_server'))?.name;
  if (!server) return '(no hosts)';
  const command = [
    'k3s kubectl get nodes,pods -A -o wide',
    'k3s kubectl get events -A --sort-by=.lastTimestamp | tail -n 40',
    'journalctl -u k3s --no-pager -n 60 -o cat',
    // K3s's deploy controller (the lab's `kube deploy`) applies MetalLB's manifest: what it did.
    "journalctl -u k3s --no-pager -o cat | grep -E '^deploy|Addon' | tail -n 20",
    'k3s kubectl get addons -A -o wide',
  ]
    .map((c) => `echo "$ ${c}"; ${c} 2>&1`)
    .join('; ');
  const r = await onHost(server, command, 30_000).catch((e: unknown) => ({ stdout: '', stderr: String(e) }));
  return `${server}:\n${r.stdout}${r.stderr}`;
}

function withEnv(changes: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === '') delete env[k];
  return env;
}

/** The lab's inventory, copied with extra `group_vars/all` values, for tests that need other settings. */
export function labInventoryWith(vars: Record<string, unknown>): string {
  const { state } = lab();
  const dir = mkdtempSync(join(tmpdir(), 'play-inv-'));
  cpSync(state.inventory, dir, { recursive: true });
  const file = join(dir, 'group_vars', 'all.yaml');
  const merged = { ...(parse(readFileSync(file, 'utf8')) as Record<string, unknown>), ...vars };
  writeFileSync(file, stringify(merged));
  return dir;
}

/** The variables of one of the shipped example inventories (`example-bgp`, `example-l2`). */
export function exampleVars(example: string): Record<string, unknown> {
  return parse(readFileSync(join(projectRoot, 'inventory', example, 'group_vars', 'all.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** The lab's hosts with an example's variables (as the lab runs them: labExampleVars), and overrides. */
export function exampleInventory(
  example: string,
  overrides: Record<string, unknown> = {},
  speaker: LabSpeaker = 'native',
): string {
  const manifest = speaker === 'frr' ? { metallb_manifest_file: lab().state.components.metallbFrrManifest } : {};
  return labInventoryWith({ ...labExampleVars(example, speaker), ...manifest, ...overrides });
}

/** An example's inventory for runs of the whole site.yaml: short waits, so a firewall lockout takes seconds, not a minute. */
export const siteInventory = (example: string, speaker: LabSpeaker = 'native'): string =>
  exampleInventory(example, { firewall_rollback_seconds: 10, ansible_timeout: 4 }, speaker);

/** Changed tasks as `host role task`, the way tests compare runs. */
export function changedTasks(report: JsonReport | undefined): string[] {
  return (report?.results ?? []).filter((r) => r.status === 'changed').map((r) => `${r.host} ${r.role} ${r.task}`);
}

export function failures(run: PlayRun): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** The fixture project's motd role on w1: the smallest run that writes a root-owned file. */
export const motdOnW1 = (text: string): string[] => [
  fixturePlaybook('demo.yaml'),
  '--role',
  'motd',
  '-l',
  'w1',
  '-e',
  'demo_token=whatever-123',
  '-e',
  `motd_text=${text}`,
];

/** The lab's inventory with host_vars of one host (its connection settings, for instance). */
export function labInventoryWithHostVars(host: string, vars: Record<string, unknown>): string {
  const dir = labInventoryWith({});
  mkdirSync(join(dir, 'host_vars'), { recursive: true });
  writeFileSync(join(dir, 'host_vars', `${host}.yaml`), stringify(vars));
  return dir;
}

/**
 * `play ARGS` on a terminal (`script` gives it one) from the controller namespace, as a user runs
 * `play -k -K`: each prompt of `answers`, in order, is answered as it appears.
 */
export function playOnTerminal(
  args: string[],
  answers: [prompt: string, answer: string][],
  options: Pick<PlayOptions, 'cwd' | 'env'> = {},
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, join(projectRoot, 'bin/play.mjs'), ...args].map(q).join(' ');
  const child = spawn('ip', ['netns', 'exec', lab().names.controller, 'script', '-qefc', command, '/dev/null'], {
    cwd: options.cwd ?? projectRoot,
    env: withEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let seen = 0;
  const pending = [...answers];
  const onData = (d: Buffer): void => {
    output += d.toString('utf8');
    const next = pending[0];
    const at = next ? output.indexOf(next[0], seen) : -1;
    if (next && at >= 0) {
      seen = at + next[0].length;
      pending.shift();
      child.stdin.write(`${next[1]}\r`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}
