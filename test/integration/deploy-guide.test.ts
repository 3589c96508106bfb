import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { $ } from 'zx';
import { projectRoot } from '../lab/paths.ts';
import { clientGet } from '../lab/traffic/traffic.ts';
import { describeLab, eventually, freshHosts, lab, onHostOk } from './lab-fixture.ts';
import { playOnTerminal } from './play-runner.ts';

// docs/deploy.md followed on the lab as if its hosts were rented: each host has a `debian` user
// with a password and sudo that asks for it, and nothing else play could use (no key of ours, no
// known host key). The commands are the guide's; the lab's only departures are the guide's own
// alternatives (the air-gapped install; nftables, as this kernel has no IPVS).
const GUIDE = readFileSync(join(projectRoot, 'docs/deploy.md'), 'utf8');
const PASSWORD = 'Debian-pass-5e7a1';
const HOSTS = ['cp1', 'w1', 'w2', 'edge'];

/** The guide's echo.yaml: the first YAML block that starts with `# echo.yaml`. */
const echoManifest = (): string => {
  const block = /```yaml\n(# echo\.yaml\n[\s\S]*?)```/.exec(GUIDE)?.[1];
  if (!block) throw new Error('docs/deploy.md has no echo.yaml block');
  return block;
};

describeLab('docs/deploy.md on hosts with a password and a sudo user only, to a Service answering', () => {
  const repo = mkdtempSync(join(tmpdir(), 'play-deploy-'));
  // The user's own home: known_hosts and ~/.kube are theirs, not this machine's.
  const home = mkdtempSync(join(tmpdir(), 'play-deploy-home-'));

  /** `npx play ARGS` as the user types it, on a terminal, the password prompts of -k -K answered. */
  const PASSWORDS: [string, string][] = [
    ['SSH password: ', PASSWORD],
    ['BECOME password[defaults to SSH password]: ', ''],
  ];
  const play = (args: string[], answers: [string, string][] = []) =>
    playOnTerminal(args, answers, { cwd: repo, env: { HOME: home, SSH_AUTH_SOCK: '' } });
  const kubectl = (kubeconfig: string, args: string) =>
    $({
      quiet: true,
      nothrow: true,
    })`ip netns exec ${lab().names.controller} ${join(dirname(lab().state.components.k3s), 'kube')} kubectl --kubeconfig ${kubeconfig} ${args.split(' ')}`;

  beforeAll(async () => {
    await freshHosts(...HOSTS);
    await Promise.all(
      HOSTS.map((h) =>
        onHostOk(
          h,
          [
            'useradd -m -s /bin/bash debian',
            `printf '%s\\n' 'debian:${PASSWORD}' | chpasswd`,
            "printf '%s\\n' 'debian ALL=(ALL:ALL) ALL' > /etc/sudoers.d/debian && chmod 440 /etc/sudoers.d/debian",
          ].join(' && '),
        ),
      ),
    );
  }, 120_000);

  it('init, the air-gapped install with -k -K, kubeconfig, and echo-lb answering a client beyond the edge', async () => {
    // "Write the inventory"
    expect(GUIDE).toContain('npx play init inventory/prod --mode bgp --user debian');
    const init = await play(['init', 'inventory/prod', '--mode', 'bgp', '--user', 'debian']);
    expect(init.code, init.output).toBe(0);
    const vars = join(repo, 'inventory/prod/group_vars/all.yaml');

    // "Air-gapped": the binary, K3s's images archive and MetalLB's manifest and images, from files/.
    const { components } = lab().state;
    mkdirSync(join(repo, 'files'));
    copyFileSync(components.k3s, join(repo, 'files/k3s'));
    copyFileSync(components.metallbFrrManifest, join(repo, 'files/metallb-frr.yaml'));
    // The lab's K3s stand-in runs its images from the components it was built with: these archives
    // are copied where K3s imports them, and the copy is what is checked.
    writeFileSync(join(repo, 'files/k3s-airgap-images-amd64.tar.zst'), 'k3s images archive\n');
    writeFileSync(join(repo, 'files/metallb-images.tar'), 'metallb images archive\n');
    expect(GUIDE).toContain('k3s_airgap_images: [files/k3s-airgap-images-amd64.tar.zst, files/metallb-images.tar]');
    appendFileSync(
      vars,
      [
        '',
        'k3s_airgap_binary: files/k3s',
        'k3s_airgap_images: [files/k3s-airgap-images-amd64.tar.zst, files/metallb-images.tar]',
        'metallb_manifest_file: files/metallb-frr.yaml',
        'metallb_speaker_mode: frr',
        'kube_proxy_mode: nftables',
        // The workstation is the lab's controller: kubectl reaches the API from there.
        `firewall_admin_sources: [${lab().state.controller.address}/32]`,
        '',
      ].join('\n'),
    );
    const text = readFileSync(vars, 'utf8')
      .replace(/^kube_proxy_mode: ipvs.*\n/m, '')
      .replace(/^firewall_admin_sources: \[\]\n/m, '');
    writeFileSync(vars, text);

    // "First run": passwords asked, host keys recorded after a look at them.
    expect(GUIDE).toContain('npx play site.yaml -i inventory/prod -k -K --accept-new-host-keys');
    const first = await play(['site.yaml', '-i', 'inventory/prod', '-k', '-K', '--accept-new-host-keys'], PASSWORDS);
    expect(first.code, first.output).toBe(0);
    expect(first.output).not.toContain(PASSWORD);
    for (const h of ['cp1', 'w1', 'w2'])
      expect(await onHostOk(h, 'ls /var/lib/rancher/k3s/agent/images')).toBe(
        'k3s-airgap-images-amd64.tar.zst\nmetallb-images.tar\n',
      );
    expect(readFileSync(join(home, '.ssh/known_hosts'), 'utf8').trim().split('\n')).toHaveLength(4);

    // "kubectl from your workstation"
    expect(GUIDE).toContain('npx play kubeconfig -i inventory/prod -k -K');
    const kc = await play(['kubeconfig', '-i', 'inventory/prod', '-k', '-K'], PASSWORDS);
    expect(kc.code, kc.output).toBe(0);
    const kubeconfig = join(home, '.kube/prod.yaml');
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const written = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    expect(written.clusters[0]?.cluster.server).toBe('https://192.0.2.11:6443');
    expect(kc.output).not.toMatch(/client-key-data|BEGIN/);
    const nodes = await kubectl(kubeconfig, 'get nodes -o name');
    expect(nodes.stdout.trim().split('\n').sort(), nodes.stderr).toEqual(['node/cp1', 'node/w1', 'node/w2']);

    // "A Service answering"
    const manifest = join(repo, 'echo.yaml');
    writeFileSync(manifest, echoManifest());
    const applied = await kubectl(kubeconfig, `apply -f ${manifest}`);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const ip = await eventually(
      'an address for echo-lb',
      async () =>
        (await kubectl(kubeconfig, 'get svc echo-lb -o jsonpath={.status.loadBalancer.ingress[0].ip}')).stdout,
      (v) => v !== '',
    );
    expect(ip).toMatch(/^198\.51\.100\.(1[2-5]\d)$/);
    const answer = await eventually(
      'echo-lb answering the client',
      () => clientGet(lab().names, `http://${ip}/hostname`).catch((e: unknown) => String(e)),
      (v) => /^echo-/.test(v),
      { timeoutMs: 120_000 },
    );
    expect(answer).toMatch(/^echo-[a-z0-9]+-[a-z0-9]+$/);
  });
});
