import { stripVTControlCharacters } from 'node:util';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { $ } from 'zx';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../lab/paths.ts';
import { describeLab, eventually, freshHosts, lab, onHost, onHostOk, removeFirewall } from './lab-fixture.ts';
import { failures, fixturePlaybook, play, siteInventory, type JsonReport } from './play-runner.ts';

const HOSTS = ['edge', 'cp1', 'w1', 'w2'];
const PLAYS = (parse(readFileSync(join(projectRoot, 'playbooks/site.yaml'), 'utf8')) as { name: string }[]).map(
  (p) => p.name,
);

interface TerminalRun {
  code: number;
  /** What the terminal showed, escape sequences and carriage returns removed. */
  text: string;
  report?: JsonReport;
}

/** Runs play on a pseudo-terminal (util-linux `script`), as an operator at a terminal does. */
async function onTerminal(args: string[]): Promise<TerminalRun> {
  const report = join(mkdtempSync(join(tmpdir(), 'play-tty-')), 'report.json');
  const cmd = `stty cols 160 rows 50; ip netns exec ${lab().names.controller} node bin/play.mjs ${args.join(' ')} --json ${report}; echo "play exited $?"`;
  const out = await $({ quiet: true, cwd: projectRoot, timeout: 180_000 })`script -qec ${cmd} /dev/null`;
  const text = stripTerminal(out.stdout);
  const code = Number(/play exited (\d+)/.exec(text)?.[1] ?? NaN);
  return {
    code,
    text,
    report: existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as JsonReport) : undefined,
  };
}

const stripTerminal = (s: string): string => stripVTControlCharacters(s).replace(/\r/g, '');

describeLab('Ctrl-C on a terminal', () => {
  it('the live view says at once that play is stopping; the cut task, the recap and --json follow; exit 99', async () => {
    const slow = '/var/tmp/play-slow';
    await onHostOk('w1', `rm -rf ${slow}`);
    const report = join(mkdtempSync(join(tmpdir(), 'play-tty-')), 'report.json');
    // `exec`: play itself is the terminal's foreground process, as when a shell starts it.
    const cmd = `stty cols 160 rows 50; exec ip netns exec ${lab().names.controller} node bin/play.mjs ${fixturePlaybook('slow.yaml')} -i ${lab().state.inventory} -l w1 --stop-grace 2 --json ${report}`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await eventually(
      'w1 to wait for go',
      async () => stripTerminal(screen).includes('slow > wait for go'),
      (v) => v,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    child.stdin.write('\u0003');
    await eventually(
      'the live view to say so',
      async () => stripTerminal(screen),
      (v) => /slow > wait for go: SIGINT: stopping/.test(v),
      { timeoutMs: 1500, intervalMs: 50 },
    );
    expect(await exited).toBe(99);
    const text = stripTerminal(screen);
    expect(text).toMatch(/✖ w1 {2}ok=0 changed=2 {2}interrupted: cut/);
    expect(text).toMatch(/\[w1\] slow \| wait for go: INTERRUPTED: cut/);
    expect(text).toMatch(/RECAP\nw1\s+ok=0 changed=2 unreachable=0 failed=0 skipped=0 interrupted=1/);
    expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ exitCode: 99, interrupted: true });
  });
});

describeLab('site.yaml on a terminal: every play, the diffs, the recap, --json and the exit code', () => {
  let inventory = '';
  beforeAll(async () => {
    await freshHosts(...HOSTS);
    inventory = siteInventory('example-bgp');
  });
  afterAll(async () => {
    await onHost('w2', 'rm -f /etc/rancher/k3s');
    await removeFirewall(...HOSTS);
  });

  it('--check --diff shows all five plays with their diffs and the recap, as plain output does', async () => {
    const tty = await onTerminal(['site.yaml', '-i', inventory, '--check', '--diff']);
    expect(tty.code, tty.text).toBe(0);
    expect(PLAYS).toHaveLength(5);
    for (const name of PLAYS) expect(tty.text).toContain(`PLAY [${name}] (check mode)`);
    expect(tty.text).toMatch(
      /\[cp1\] k3s-config \| K3s config: would change\n\s+--- \/dev\/null\n\s+\+\+\+ \/etc\/rancher\/k3s\/config\.yaml \(after\)/,
    );
    expect(tty.text).toMatch(/\[edge\] frr-edge \| frr\.conf: would change\n/);
    expect(tty.text).toMatch(/\[w2\] firewall \| firewall ruleset: would change\n/);
    expect(tty.text).toMatch(
      /RECAP \(check mode: nothing was changed\)\ncp1\s+ok=\d+ changed=\d+[^\n]*\nw1 [^\n]*\nw2 [^\n]*\nedge [^\n]*\ntotal \d+\.\d\d s wall time/,
    );
    expect(tty.report?.check).toBe(true);
    expect(tty.report?.exitCode).toBe(0);
    // The edge's BGP password is in frr.conf's diff, masked.
    expect(tty.text).not.toMatch(/supersecret-md5/);

    const plain = await play(['site.yaml', '-i', inventory, '--check', '--diff']);
    expect(plain.code, failures(plain)).toBe(0);
    expect(tty.report?.recap).toEqual(plain.report?.recap);
  });

  it('a host that fails: the later plays still show, the recap counts it, and the exit code is 2 as in plain output', async () => {
    // A file where w2's K3s config directory must be: k3s-config fails there, the others go on.
    await onHostOk('w2', 'mkdir -p /etc/rancher && rm -rf /etc/rancher/k3s && touch /etc/rancher/k3s');
    const plain = await play(['site.yaml', '-i', inventory, '--diff']);
    expect(plain.code, failures(plain)).toBe(2);
    const tty = await onTerminal(['site.yaml', '-i', inventory, '--diff']);
    expect(tty.code, tty.text).toBe(2);
    for (const name of PLAYS) expect(tty.text).toContain(`PLAY [${name}]`);
    expect(tty.text).toMatch(
      /\[w2\] k3s-config \| K3s config directory: FAILED: \/etc\/rancher\/k3s exists and is not a directory/,
    );
    expect(tty.text).toMatch(/\nw2\s+ok=\d+ changed=0 unreachable=0 failed=1 /);
    expect(tty.report?.exitCode).toBe(2);
    expect(tty.report?.recap.w2?.failed).toBe(1);
    expect(tty.report?.recap.edge?.failed).toBe(0);
  });
});
