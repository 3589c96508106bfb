import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeAll } from '../../src/engine/probe-batch.ts';
import { commandResource } from '../../src/resources/command.ts';
import { directoryResource } from '../../src/resources/directory.ts';
import { fileResource } from '../../src/resources/file.ts';
import { aptResource } from '../../src/resources/apt.ts';
import { fileProbeCommand, parseFileState, probeFile, type ProbeContent } from '../../src/resources/file-state.ts';
import { kubeStatusProbe } from '../../src/resources/kube-status.ts';
import { ownCommand } from '../../src/resources/probe.ts';
import { nftApplyResource } from '../../src/resources/nft-apply.ts';
import { sysctlResource } from '../../src/resources/sysctl.ts';
import type { Resource, Runtime } from '../../src/resources/types.ts';
import { waitUntilResource } from '../../src/resources/wait-until.ts';
import { readiness } from '../../roles/_shared/kube-readiness.ts';
import { localShell } from './local-shell.ts';

/** A run's offer beyond the host, for resources that need none of it here. */
const localRuntime: Runtime = {
  check: false,
  read: () => Promise.reject(new Error('no other hosts in these tests')),
  newConnection: () => Promise.resolve(),
};

const tmp = () => mkdtempSync(join(tmpdir(), 'play-res-'));

/** Read, plan, apply: what the engine does for one resource outside check mode. */
async function converge(r: Resource) {
  const [state] = await probeAll(localShell, [r.probe]);
  const plan = r.plan(state);
  if (plan.changes.length > 0) await plan.apply?.(localShell, localRuntime);
  return plan.changes;
}

describe('batched probes', () => {
  it.each([false, true])(
    'frame each output exactly, whatever it prints or how it exits (concurrent: %s)',
    async (concurrent) => {
      const results = await probeAll(
        localShell,
        ['printf abc', undefined, 'printf "x\\n\\n"; exit 3', 'echo @@fake:end:0:0'],
        { concurrent },
      );
      expect(results).toEqual([
        { stdout: 'abc', exitCode: 0 },
        undefined,
        { stdout: 'x\n\n', exitCode: 3 },
        { stdout: '@@fake:end:0:0\n', exitCode: 0 },
      ]);
    },
  );
});

describe('file resource', () => {
  it('creates, then reports nothing to do, then changes only what differs', async () => {
    const dir = tmp();
    const path = join(dir, 'a.conf');
    const first = await converge(fileResource({ path, content: 'one\n', mode: '0640' }));
    expect(first.map((c) => (c.type === 'value' ? c.what : 'content'))).toEqual(['content', 'mode']);
    expect(readFileSync(path, 'utf8')).toBe('one\n');
    expect((statSync(path).mode & 0o777).toString(8)).toBe('640');
    expect(await converge(fileResource({ path, content: 'one\n', mode: '0640' }))).toEqual([]);
    const third = await converge(fileResource({ path, content: 'two\n', mode: '640' }));
    expect(third).toEqual([{ type: 'content', path, before: 'one\n', after: 'two\n' }]);
    expect(readdirSync(dir)).toEqual(['a.conf']);
  });

  it('keeps the old mode when none is declared', async () => {
    const dir = tmp();
    const path = join(dir, 'k');
    writeFileSync(path, 'x', { mode: 0o600 });
    await converge(fileResource({ path, content: 'y' }));
    expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
  });

  it('fails cleanly into a missing directory, leaving no temp file', async () => {
    const dir = tmp();
    await expect(converge(fileResource({ path: join(dir, 'no/such/f'), content: 'x' }))).rejects.toThrow(
      /writing .* failed/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses to replace a directory with a file', async () => {
    const dir = tmp();
    await expect(converge(fileResource({ path: dir, content: 'x' }))).rejects.toThrow(/not a regular file/);
  });

  it('removes a file with state absent, showing the old content going', async () => {
    const dir = tmp();
    const path = join(dir, 'gone');
    writeFileSync(path, 'bye\n');
    expect(await converge(fileResource({ path, state: 'absent' }))).toEqual([
      { type: 'content', path, before: 'bye\n', after: null },
    ]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('directory resource', () => {
  it('creates parents with the declared mode, then is ok', async () => {
    const dir = tmp();
    const path = join(dir, 'a/b');
    expect((await converge(directoryResource({ path, mode: '0750' }))).length).toBe(2);
    expect((statSync(path).mode & 0o777).toString(8)).toBe('750');
    expect(await converge(directoryResource({ path, mode: '0750' }))).toEqual([]);
  });
});

describe('command resource', () => {
  it('runs only while its guard says it is not done', async () => {
    const dir = tmp();
    const marker = join(dir, 'done');
    const r = commandResource({ run: `echo ran >> ${dir}/log && touch ${marker}`, creates: marker });
    expect((await converge(r)).length).toBe(1);
    expect(await converge(r)).toEqual([]);
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('ran\n');
  });

  it('unless: a command that succeeds once done', async () => {
    const dir = tmp();
    const r = commandResource({ run: `echo x > ${dir}/f`, unless: `test -s ${dir}/f` });
    expect((await converge(r)).length).toBe(1);
    expect(await converge(r)).toEqual([]);
  });

  it('a failing command fails with its stderr', async () => {
    const r = commandResource({ run: 'echo boom >&2; exit 4', unless: 'false' });
    await expect(converge(r)).rejects.toMatchObject({ message: expect.stringMatching(/exit 4/), detail: 'boom' });
  });

  it('read-only: reads with the batch and reports what it read; a failing one fails with its stderr', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'state'), 'up 3\n');
    const r = commandResource({ run: `cat ${dir}/state`, readOnly: true, report: (out) => `peers: ${out.trim()}` });
    const [state] = await probeAll(localShell, [r.probe]);
    expect(r.plan(state)).toEqual({ changes: [], report: 'peers: up 3' });
    const broken = commandResource({ run: 'echo no bgpd >&2; exit 2', readOnly: true });
    const [failed] = await probeAll(localShell, [broken.probe]);
    const plan = broken.plan(failed);
    expect(plan.changes).toEqual([]);
    await expect(plan.inspect?.(localShell)).rejects.toMatchObject({
      message: expect.stringMatching(/exit 2/),
      detail: 'no bgpd',
    });
  });
});

describe('waiting on a reading judged on the controller', () => {
  const flagWait = (file: string, timeoutMs: number) =>
    waitUntilResource({
      read: `cat ${file} 2>/dev/null || true`,
      missing: (out) => (out.includes('go') ? undefined : `no go in ${file}`),
      timeoutMs,
      intervalMs: 200,
    });

  it('has nothing to do when the reading shows nothing missing', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'flag'), 'go\n');
    const r = flagWait(join(dir, 'flag'), 5_000);
    const [state] = await probeAll(localShell, [r.probe]);
    expect(r.plan(state)).toEqual({ changes: [] });
  });

  it('polls until the reading shows nothing missing', async () => {
    const dir = tmp();
    const r = flagWait(join(dir, 'flag'), 10_000);
    const [state] = await probeAll(localShell, [r.probe]);
    const plan = r.plan(state);
    setTimeout(() => writeFileSync(join(dir, 'flag'), 'go\n'), 400);
    await plan.settle?.(localShell);
    expect(readFileSync(join(dir, 'flag'), 'utf8')).toBe('go\n');
  });

  it('times out saying what is still missing', async () => {
    const dir = tmp();
    const r = flagWait(join(dir, 'flag'), 500);
    const plan = r.plan((await probeAll(localShell, [r.probe]))[0]);
    await expect(plan.settle?.(localShell)).rejects.toThrow(
      `timed out after 500 ms waiting for \`cat ${join(dir, 'flag')} 2>/dev/null || true\` to show nothing missing: no go in ${join(dir, 'flag')}`,
    );
  });
});

describe('kube readiness reading', () => {
  it('judges each kind by its own condition, an absent object being absent', () => {
    const out = [
      'Node/cp1 True',
      'Node/w1 False',
      'Node/w2 ',
      'CustomResourceDefinition/bgppeers.metallb.io True',
      'Deployment/controller False',
      'Endpoints/metallb-webhook-service 10.42.0.10',
      'Endpoints/other ',
      '',
    ].join('\n');
    expect([...readiness(out)]).toEqual([
      ['Node/cp1', true],
      ['Node/w1', false],
      ['Node/w2', false],
      ['CustomResourceDefinition/bgppeers.metallb.io', true],
      ['Deployment/controller', false],
      ['Endpoints/metallb-webhook-service', true],
      ['Endpoints/other', false],
    ]);
  });
});

describe('shared readings: one command per kind, each resource seeing what it would read alone', () => {
  it('a summarized or binary file is compared by its hash: its content never crosses the wire', async () => {
    const dir = tmp();
    const path = join(dir, 'manifest.yaml');
    writeFileSync(path, 'old: 1\n');
    for (const r of [
      fileResource({ path, content: 'new: 2\n', summarize: true }),
      fileResource({ path, content: Buffer.from([0, 1, 2]) }),
    ]) {
      const [state] = await probeAll(localShell, [r.probe], { concurrent: true });
      expect(parseFileState(state?.stdout ?? '').content).toBeUndefined();
      const [change] = r.plan(state).changes;
      expect(change).toMatchObject({
        type: 'content',
        before: `(7 bytes, sha256 ${createHash('sha256').update('old: 1\n').digest('hex')})\n`,
      });
    }
    await converge(fileResource({ path, content: 'new: 2\n', summarize: true }));
    expect(readFileSync(path, 'utf8')).toBe('new: 2\n');
    expect(await converge(fileResource({ path, content: 'new: 2\n', summarize: true }))).toEqual([]);
  });

  it('files: one stat for all; content, hash or nothing each, as the file read alone prints it', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.conf'), 'alpha\n');
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'odd | name.txt'), 'x|y\n');
    const reads: [string, ProbeContent][] = [
      [join(dir, 'a.conf'), 'content'],
      [join(dir, 'a.conf'), 'hash'],
      [join(dir, 'empty'), 'content'],
      [join(dir, 'odd | name.txt'), 'content'],
      [dir, 'none'],
      [dir, 'content'],
      [join(dir, 'absent'), 'content'],
      [join(dir, 'absent'), 'none'],
    ];
    const merged = await probeAll(
      localShell,
      reads.map(([p, r]) => probeFile(p, r)),
      { concurrent: true },
    );
    const alone = await probeAll(
      localShell,
      reads.map(([p, r]) => fileProbeCommand(p, r)),
    );
    expect(merged.map((m) => parseFileState(m?.stdout ?? ''))).toEqual(
      alone.map((a) => parseFileState(a?.stdout ?? '')),
    );
    expect(parseFileState(merged[0]?.stdout ?? '').content?.toString()).toBe('alpha\n');
    expect(merged.map((m) => parseFileState(m?.stdout ?? '').kind)).toEqual([
      'file',
      'file',
      'file',
      'file',
      'directory',
      'directory',
      'absent',
      'absent',
    ]);
  });

  it('packages: one dpkg-query; each apt resource sees only its own packages', async () => {
    const installed = aptResource({ packages: ['dpkg', 'coreutils'] });
    const missing = aptResource({ packages: ['no-such-package-play'] });
    const [a, b] = await probeAll(localShell, [installed.probe, missing.probe]);
    expect(
      a?.stdout
        .split('\n')
        .map((l) => l.split(' ')[0])
        .sort(),
    ).toEqual(['coreutils', 'dpkg']);
    expect(b?.stdout).toBe('');
    expect(installed.plan(a).changes).toEqual([]);
    expect(missing.plan(b).changes).toEqual([
      { type: 'value', what: 'package no-such-package-play', before: 'absent', after: 'installed' },
    ]);
  });

  it('kube readiness: nodes join the namespaced call, so a server reads all readiness in one kubectl', () => {
    const t = '{.kind}';
    const probes = [
      kubeStatusProbe({ kubectl: 'k3s kubectl', template: t, refs: ['node/cp1'] }),
      kubeStatusProbe({
        kubectl: 'k3s kubectl',
        template: t,
        namespace: 'metallb-system',
        refs: ['crd/x.metallb.io', 'deployment/controller'],
      }),
      kubeStatusProbe({ kubectl: 'k3s kubectl', template: t, refs: ['node/w1', 'node/cp1'] }),
    ];
    const reader = probes[0]!.reader;
    const command = reader.command(probes.map((p) => p.item));
    expect(command.match(/ get /g)).toHaveLength(1);
    expect(command).toContain(
      `get 'crd/x.metallb.io' 'deployment/controller' 'node/cp1' 'node/w1' -n 'metallb-system'`,
    );
    const other = reader.command([
      ...probes.map((p) => p.item),
      kubeStatusProbe({ kubectl: 'k3s kubectl', template: t, namespace: 'other', refs: ['deployment/y'] }).item,
    ]);
    expect(other.match(/ get /g)).toHaveLength(2);
    expect(ownCommand(probes[0]!)).toContain(`get 'node/cp1' --ignore-not-found`);
  });

  it('sysctl: all keys in one process; a key the kernel lacks is named', async () => {
    const dir = tmp();
    const [, now = ''] = /= (.*)/.exec((await localShell.exec('sysctl kernel.ostype')).stdout) ?? [];
    const known = sysctlResource({ file: join(dir, 'x.conf'), values: { 'kernel/ostype': now, 'kernel.ostype': now } });
    const live = (r: Resource, s: Parameters<Resource['plan']>[0]) =>
      r.plan(s).changes.filter((c) => c.type === 'value' && c.what.endsWith('(live)'));
    const [state] = await probeAll(localShell, [known.probe]);
    expect(live(known, state)).toEqual([]);
    const other = sysctlResource({ file: join(dir, 'x.conf'), values: { 'kernel.ostype': `not-${now}` } });
    expect(live(other, (await probeAll(localShell, [other.probe]))[0])).toEqual([
      { type: 'value', what: 'kernel.ostype (live)', before: now, after: `not-${now}` },
    ]);
    const unknown = sysctlResource({
      file: join(dir, 'x.conf'),
      values: { 'kernel.ostype': now, 'net.no.such.key': 1 },
    });
    const [again] = await probeAll(localShell, [unknown.probe]);
    expect(() => unknown.plan(again)).toThrow('unknown sysctl key(s) on this host: net.no.such.key');
  });
});

describe('nftables table resource', () => {
  const spec = {
    ruleset: '/etc/play-firewall/ruleset.nft',
    table: 'inet play_firewall',
    rollbackAfterSeconds: 10,
    load: 'if-missing' as const,
  };
  const reading = (stdout: string) => ({ stdout, stderr: '', exitCode: 0 });
  const table = 'table inet play_firewall {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}\n';

  it('a loaded table as play loaded it is left alone; one without a saved copy too (loaded by an older play)', () => {
    const r = nftApplyResource(spec);
    expect(r.plan(reading(`loaded\n${table}@@play-loaded@@\n${table}`)).changes).toEqual([]);
    expect(r.plan(reading(`loaded\n${table}@@play-loaded@@\n`)).changes).toEqual([]);
  });

  it('a table changed by hand since play loaded it is loaded again, the diff showing the hand-made rule', () => {
    const edited = table.replace(
      '\t\ttcp dport 22 accept\n',
      '\t\tip saddr 192.0.2.12 tcp dport 179 drop\n\t\ttcp dport 22 accept\n',
    );
    const plan = nftApplyResource(spec).plan(reading(`loaded\n${edited}@@play-loaded@@\n${table}`));
    expect(plan.changes).toEqual([
      {
        type: 'content',
        path: 'table inet play_firewall (live, changed since play loaded it)',
        before: edited,
        after: table,
      },
    ]);
  });

  it('a missing table is loaded', () => {
    expect(nftApplyResource(spec).plan(reading('missing\n')).changes).toEqual([
      {
        type: 'value',
        what: 'table inet play_firewall',
        before: 'not loaded',
        after: 'loaded from /etc/play-firewall/ruleset.nft',
      },
    ]);
  });
});
