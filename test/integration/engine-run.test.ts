import { stripVTControlCharacters } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { $ } from 'zx';
import { projectRoot } from '../lab/paths.ts';
import { describeLab, eventually, freshHosts, lab, onHost, onHostOk } from './lab-fixture.ts';
import { layerSnapshot, snapshotDiff } from './layer-snapshot.ts';
import { changedTasks, failures, fixturePlaybook, play } from './play-runner.ts';

const TOKEN = 'tok-3f9a1c77e2';
const demo = (...args: string[]) =>
  play([fixturePlaybook('demo.yaml'), '-i', lab().state.inventory, '-e', `demo_token=${TOKEN}`, ...args]);

describeLab('play applies roles to lab hosts', () => {
  beforeAll(async () => {
    await freshHosts('cp1', 'w1', 'w2');
  });

  it('--check on a fresh host writes nothing, and reports exactly the changes a real run then makes', async () => {
    const layer = lab().host('w1').layer;
    const before = layerSnapshot(layer);
    const check = await demo('--check', '--diff', '--limit', 'w1');
    expect(check.code, failures(check)).toBe(0);
    expect(snapshotDiff(before, layerSnapshot(layer))).toEqual([]);
    expect(check.stdout).toMatch(
      /\[w1\] demo \| demo config: would change\n\s+--- \/dev\/null\n\s+\+\+\+ \/opt\/play-demo\/demo\.conf \(after\)/,
    );
    expect(check.stdout).toMatch(/restart demo \(handler\): would run/);

    const real = await demo('--limit', 'w1');
    expect(real.code, failures(real)).toBe(0);
    const tasksOnly = (r: typeof real) =>
      (r.report?.results ?? [])
        .filter((t) => t.status === 'changed' && !t.handler)
        .map((t) => ({ task: t.task, changes: t.changes }));
    expect(tasksOnly(check)).toEqual(tasksOnly(real));
    expect(tasksOnly(real).length).toBeGreaterThanOrEqual(8);
    const handlers = (r: typeof real) =>
      (r.report?.results ?? []).filter((t) => t.handler).map((t) => `${t.task}:${t.status}`);
    expect(handlers(check)).toEqual(handlers(real));
    expect(snapshotDiff(before, layerSnapshot(layer)).length).toBeGreaterThan(0);
  });

  it('applies a role: the first run changes hosts, the second reports zero changed', async () => {
    const withCurl = ['-e', '{"demo_packages": ["curl"]}'];
    const first = await demo(...withCurl);
    expect(first.code, failures(first)).toBe(0);
    expect(changedTasks(first.report).filter((t) => t.startsWith('cp1 ')).length).toBeGreaterThanOrEqual(9);
    expect(changedTasks(first.report)).toContain('cp1 demo demo packages');
    expect(
      await onHostOk(
        'w2',
        'cat /opt/play-demo/demo.conf; stat -c %a /opt/play-demo/demo.conf; curl -s http://127.0.0.1:8089/',
      ),
    ).toBe(
      `# demo service config, rendered by play for w2\ngreeting = hello from play\nport = 8089\ntoken = ${TOKEN}\n600\nhello from play\n`,
    );
    expect(
      await onHostOk(
        'cp1',
        'sysctl -n net.ipv4.ip_forward; systemctl is-enabled play-demo; systemctl is-active play-demo',
      ),
    ).toBe('1\nenabled\nactive\n');

    const second = await demo(...withCurl);
    expect(second.code, failures(second)).toBe(0);
    expect(changedTasks(second.report)).toEqual([]);
    expect(second.stdout).toMatch(/cp1\s+ok=11 changed=0 unreachable=0 failed=0 skipped=0/);
  });

  it('a changed variable shows as a diff in check mode, secrets masked, and the handler runs after the real change', async () => {
    const check = await demo('-C', '-D', '-e', 'demo_greeting=bonjour', '-e', 'demo_token=rotated-token-77', '-v');
    expect(check.code, failures(check)).toBe(0);
    expect(check.stdout).toMatch(/-greeting = hello from play\n\s+\+greeting = bonjour/);
    expect(check.stdout).toMatch(/-token = \*{8} \(old secret\)\n\s+\+token = \*{8}/);
    const everything = check.stdout + check.stderr + JSON.stringify(check.report);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain('rotated-token-77');
    expect(await onHostOk('w1', 'grep greeting /opt/play-demo/demo.conf')).toBe('greeting = hello from play\n');

    const pidBefore = await onHostOk('w1', 'systemctl show -p MainPID --value play-demo');
    const real = await demo('-e', 'demo_greeting=bonjour', '-l', 'w1');
    expect(changedTasks(real.report)).toEqual(['w1 demo demo config', 'w1 demo index page', 'w1 demo restart demo']);
    expect(await onHostOk('w1', 'systemctl show -p MainPID --value play-demo')).not.toBe(pidBefore);
  });

  it('a changed unit file is reloaded into systemd before the restart, at the flush point', async () => {
    const r = await demo('-e', 'demo_port=8091', '-l', 'w2');
    expect(r.code, failures(r)).toBe(0);
    const order = r.report?.results.filter((t) => t.role === 'demo').map((t) => `${t.task}:${t.status}`);
    expect(order).toEqual([
      'demo packages:skipped',
      'demo root:ok',
      'demo config:changed',
      'index page:ok',
      'forwarding:ok',
      'seed marker:ok',
      'demo unit:changed',
      'demo running:changed',
      'restart demo:changed',
      'demo answers:ok',
      'only on debian:ok',
    ]);
    const running = r.report?.results.find((t) => t.task === 'demo running');
    expect(running?.changes).toEqual([
      { type: 'value', what: 'unit file', before: 'changed on disk', after: 'reloaded' },
    ]);
    expect(
      await onHostOk(
        'w2',
        'systemctl show -p NeedDaemonReload --value play-demo; python3 -c "import urllib.request as u; print(u.urlopen(\'http://127.0.0.1:8091/\').read().decode())"',
      ),
    ).toBe('no\nhello from play\n\n');
    const back = await demo('-l', 'w2');
    expect(back.code, failures(back)).toBe(0);
  });

  it('--role and --tags run only the chosen role; --limit only the chosen hosts', async () => {
    const byRole = await demo('--role', 'motd', '-e', 'motd_text=role-only');
    expect(byRole.code, failures(byRole)).toBe(0);
    expect(new Set(byRole.report?.results.map((r) => r.role))).toEqual(new Set(['motd']));
    expect(changedTasks(byRole.report).sort()).toEqual(['cp1 motd motd', 'w1 motd motd', 'w2 motd motd']);

    const byTag = await demo('--tags', 'banner', '-e', 'motd_text=by-tag', '--limit', 'w2');
    expect(byTag.code, failures(byTag)).toBe(0);
    expect(byTag.report?.results.map((r) => `${r.host} ${r.role} ${r.task} ${r.status}`)).toEqual([
      'w2 motd motd changed',
    ]);
    expect(await onHostOk('w2', 'cat /etc/motd')).toBe('w2: by-tag\n');
    expect(await onHostOk('w1', 'cat /etc/motd')).toBe('w1: role-only\n');
    expect(Object.keys(byTag.report?.recap ?? {})).toEqual(['w2']);
  });

  it('bad input is refused before anything runs on a host, with file, line and key path', async () => {
    const layer = lab().host('cp1').layer;
    const before = layerSnapshot(layer);
    const bad = await demo('-e', 'demo_port=80', '-e', 'demo_greeting=changed-but-never-applied', '--tags', 'nosuch');
    expect(bad.code).toBe(6);
    expect(bad.stderr).toMatch(/nothing was run on any host/);
    expect(bad.stderr).toMatch(/-e #2: demo_port: expected a number >= 1024 \(role demo, hosts cp1, w1, w2\)/);
    expect(snapshotDiff(before, layerSnapshot(layer))).toEqual([]);
    const unknownTag = await demo('--tags', 'nosuch');
    expect(unknownTag.code).toBe(6);
    expect(unknownTag.stderr).toMatch(
      /unknown tag "nosuch"; known tags: banner, config, demo, motd, motd-file, packages/,
    );
  });
});

describeLab('play on a terminal', () => {
  it('shows live progress per host with listr2, then the diffs and the recap', async () => {
    const { names, state } = lab();
    const slow = '/var/tmp/play-slow';
    await Promise.all(['cp1', 'w1', 'w2'].map((h) => onHostOk(h, `rm -rf ${slow}`)));
    const cmd = [
      'stty cols 120 rows 40;',
      `ip netns exec ${names.controller} node bin/play.mjs ${fixturePlaybook('slow.yaml')} -i ${state.inventory} -D`,
    ].join(' ');
    const run = $({ quiet: true, cwd: projectRoot })`script -qec ${cmd} /dev/null`;
    // Every host waits in the role's "wait for go" until released: the live view must show it there.
    const started = async (h: string) => (await onHost(h, `test -e ${slow}/started`)).exitCode === 0;
    await eventually(
      'every host to wait for go',
      async () => (await Promise.all(['cp1', 'w1', 'w2'].map(started))).every(Boolean),
      (v) => v,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all(['cp1', 'w1', 'w2'].map((h) => onHostOk(h, `touch ${slow}/go`)));
    const text = stripVTControlCharacters((await run).stdout).replace(/\r/g, '');
    expect(text).toMatch(/PLAY \[held until released\]/);
    for (const h of ['cp1', 'w1', 'w2']) expect(text).toMatch(new RegExp(`${h}\\n\\s+. slow > wait for go`));
    for (const h of ['cp1', 'w1', 'w2']) expect(text).toMatch(new RegExp(`${h}  ok=1 changed=3`));
    expect(text).toMatch(
      /\[w1\] slow \| after go: changed\n\s+--- \/dev\/null\n\s+\+\+\+ \/var\/tmp\/play-slow\/after \(after\)\n\s+@@ -0,0 \+1,1 @@\n\s+\+done/,
    );
    expect(text).toMatch(/RECAP\ncp1\s+ok=1 changed=3 unreachable=0 failed=0 skipped=0\nw1 /);
  });
});
