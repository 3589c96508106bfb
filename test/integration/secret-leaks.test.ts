import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../lab/paths.ts';
import { describeLab, freshHosts, lab, removeFirewall } from './lab-fixture.ts';
import { exampleInventory, failures, play, type PlayRun } from './play-runner.ts';
import { labExampleVars } from '../lab/example-inventory.ts';

const HOSTS = ['edge', 'cp1', 'w1', 'w2'];
/** Secrets with the characters that escaping changes: quotes and a backslash. */
const TOKEN = 'T0k"en\\Leak-0123456789';
const PASSWORD = "lab-Secret'pw!x";
const ROTATED = 'rotated-Secret-42';

/** Every form a secret could take in output: as is, escaped for JSON and YAML, base64, URL-encoded. */
function forms(secret: string): string[] {
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    secret.replace(/'/g, "''"),
    Buffer.from(secret).toString('base64'),
    encodeURIComponent(secret),
  ];
}

/** Fails naming the output and the form where any secret shows up. */
function expectNoSecret(what: string, text: string, secrets: string[]): void {
  for (const secret of secrets)
    for (const form of forms(secret)) expect(text.includes(form), `${what} shows ${JSON.stringify(form)}`).toBe(false);
}

/** All a run showed: stdout, stderr and the --json report. */
const everything = (r: PlayRun): string => `${r.stdout}\n${r.stderr}\n${JSON.stringify(r.report ?? {})}`;

function peersWith(password: string): unknown[] {
  const peers = labExampleVars('example-bgp').metallb_bgp_peers as Record<string, unknown>[];
  return peers.map((p) => ({ ...p, password }));
}

describeLab('secrets never reach any output, in any rendering, whatever the run selects', () => {
  let inventory = '';
  beforeAll(async () => {
    await freshHosts(...HOSTS);
    inventory = exampleInventory('example-bgp', {
      firewall_rollback_seconds: 10,
      ansible_timeout: 4,
      k3s_token: TOKEN,
      metallb_bgp_peers: peersWith(PASSWORD),
    });
  });
  afterAll(async () => removeFirewall(...HOSTS));

  it('plain, -v, --diff, --json and PLAY_TIMING of a first run; the K3s token and the BGP password are in the files, masked in the diffs', async () => {
    const r = await play(['site.yaml', '-i', inventory, '-v', '--diff'], { env: { PLAY_TIMING: '1' } });
    expect(r.code, failures(r)).toBe(0);
    expect(r.stdout).toMatch(/\+token: "?\*{8}/);
    expect(r.stdout).toMatch(/neighbor 192\.0\.2\.11 password \*{8}/);
    expectNoSecret('the first run', everything(r), [TOKEN, PASSWORD]);
  });

  it('on a terminal (listr output), with -v and --diff', async () => {
    const report = join(mkdtempSync(join(tmpdir(), 'play-leak-')), 'r.json');
    const cmd = `stty cols 160 rows 50; ip netns exec ${lab().names.controller} node bin/play.mjs site.yaml -i ${inventory} -v --diff --check -e '{"metallb_bgp_peers": ${JSON.stringify(peersWith(ROTATED)).replace(/'/g, "'\\''")}}' --json ${report}`;
    const out = await $({ quiet: true, cwd: projectRoot, nothrow: true })`script -qec ${cmd} /dev/null`;
    expect(out.stdout).toMatch(/password \*{8} \(old secret\)/);
    expectNoSecret('the terminal', `${out.stdout}${existsSync(report) ? readFileSync(report, 'utf8') : ''}`, [
      TOKEN,
      PASSWORD,
      ROTATED,
    ]);
  });

  it("with --limit edge, --role frr-edge, and a playbook of the user's own holding only frr-edge, a rotated password is masked old and new", async () => {
    const rotate = ['-e', JSON.stringify({ metallb_bgp_peers: peersWith(ROTATED) })];
    const dir = mkdtempSync(join(tmpdir(), 'play-own-'));
    symlinkSync(join(projectRoot, 'roles'), join(dir, 'roles'));
    writeFileSync(join(dir, 'edge-only.yaml'), '- name: only the edge\n  hosts: edge\n  roles: [frr-edge]\n');
    for (const args of [
      ['site.yaml', '--limit', 'edge'],
      ['site.yaml', '--role', 'frr-edge'],
      [join(dir, 'edge-only.yaml')],
    ]) {
      const r = await play([...args, '-i', inventory, '--check', '--diff', '-v', ...rotate]);
      expect(r.code, failures(r)).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(
        /-\s+neighbor 192\.0\.2\.11 password \*{8} \(old secret\)\n\s+\+\s+neighbor 192\.0\.2\.11 password \*{8}/,
      );
      expectNoSecret(args.join(' '), everything(r), [TOKEN, PASSWORD, ROTATED]);
    }
  });

  it('errors: bad input next to the secrets shows neither', async () => {
    const r = await play([
      'site.yaml',
      '-i',
      inventory,
      '-e',
      JSON.stringify({
        metallb_bgp_peers: peersWith(PASSWORD).map((p) => ({ ...(p as object), myASN: 'sixty-four' })),
      }),
    ]);
    expect(r.code, failures(r)).toBe(6);
    expectNoSecret('the refusal', everything(r), [TOKEN, PASSWORD]);
  });
});
