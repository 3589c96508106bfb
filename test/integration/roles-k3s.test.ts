import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeLab, freshHosts, lab, onHostOk } from './lab-fixture.ts';
import { layerSnapshot, snapshotDiff } from './layer-snapshot.ts';
import { changedTasks, failures, labInventoryWith, play, type PlayRun } from './play-runner.ts';

const NODES = ['cp1', 'w1', 'w2'];
const UNIT: Record<string, string> = { cp1: 'k3s', w1: 'k3s-agent', w2: 'k3s-agent' };
// The lab's kernel has no IPVS (no modules at all): the cluster runs kube-proxy in nftables mode.
let inventory = '';
// Only these two roles: the MetalLB, edge and firewall roles have tests of their own.
const ROLES = ['--role', 'k3s-config', '--role', 'sysctl'];
const site = (...args: string[]) => play(['site.yaml', '-i', inventory, ...ROLES, ...args]);
const mainPids = async () =>
  Object.fromEntries(
    await Promise.all(
      NODES.map(async (h) => [h, (await onHostOk(h, `systemctl show -p MainPID --value ${UNIT[h]}`)).trim()]),
    ),
  );
const positions = (r: PlayRun, host: string, task: string) =>
  (r.report?.results ?? []).findIndex((t) => t.host === host && t.task === task);

describeLab('roles k3s-config and sysctl on the lab', () => {
  beforeAll(async () => {
    await freshHosts(...NODES);
    inventory = labInventoryWith({ kube_proxy_mode: 'nftables' });
  });

  it('forms the cluster: servers first, agents join with the token read from the first server, never printed', async () => {
    const first = await site('--diff', '-v');
    expect(first.code, failures(first)).toBe(0);
    expect((await onHostOk('cp1', 'k3s kubectl get nodes -o name')).split('\n').filter(Boolean).sort()).toEqual([
      'node/cp1',
      'node/w1',
      'node/w2',
    ]);
    const token = (await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/token')).trim();
    expect(token.length).toBeGreaterThan(20);
    const agentConfig = await onHostOk(
      'w1',
      'cat /etc/rancher/k3s/config.yaml; stat -c %a /etc/rancher/k3s/config.yaml',
    );
    expect(agentConfig).toContain(`token: "${token}"`);
    expect(agentConfig).toContain('server: https://192.0.2.11:6443');
    expect(agentConfig.trim().endsWith('600')).toBe(true);
    expect(first.stdout + first.stderr + JSON.stringify(first.report)).not.toContain(token);
    expect(first.stdout).toMatch(/\+token: "\*{8}"/);
  });

  it('writes the config the article means, with its mistakes fixed: servicelb off, kube-proxy args on every node', async () => {
    const server = JSON.parse(await onHostOk('cp1', 'cat /var/lib/rancher/k3s/server/standin-effective-config.json'));
    expect(server).toMatchObject({
      disable: ['servicelb'],
      'kube-proxy-arg': ['proxy-mode=nftables'],
      'write-kubeconfig-mode': '0600',
      'node-ip': ['192.0.2.11'],
    });
    for (const agent of ['w1', 'w2']) {
      const effective = JSON.parse(
        await onHostOk(agent, 'cat /var/lib/rancher/k3s/agent/standin-effective-config.json'),
      );
      expect(effective['kube-proxy-arg']).toEqual(['proxy-mode=nftables']);
    }
    expect((await onHostOk('cp1', 'stat -c %a /etc/rancher/k3s/k3s.yaml')).trim()).toBe('600');
  });

  it('sets the sysctls persisted and live on every node; a rerun changes nothing', async () => {
    for (const h of NODES) {
      expect(
        await onHostOk(h, 'sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce'),
      ).toBe('1\n1\n2\n');
      expect(await onHostOk(h, 'cat /etc/sysctl.d/99-k3s-metallb.conf')).toContain(
        'net.ipv4.conf.all.arp_announce = 2',
      );
    }
    const again = await site();
    expect(again.code, failures(again)).toBe(0);
    expect(changedTasks(again.report)).toEqual([]);
  });

  it('restarts K3s only on the node whose config changed', async () => {
    const changed = labInventoryWith({ kube_proxy_mode: 'nftables' });
    mkdirSync(join(changed, 'host_vars'), { recursive: true });
    writeFileSync(join(changed, 'host_vars', 'w1.yaml'), 'k3s_flannel_iface: eth0\n');
    const before = await mainPids();
    const r = await play(['site.yaml', '-i', changed, ...ROLES]);
    expect(r.code, failures(r)).toBe(0);
    expect(changedTasks(r.report)).toEqual(['w1 k3s-config K3s config', 'w1 k3s-config restart K3s']);
    const after = await mainPids();
    expect(after.w1).not.toBe(before.w1);
    expect({ cp1: after.cp1, w2: after.w2 }).toEqual({ cp1: before.cp1, w2: before.w2 });
  });

  it('rolls a change out one node at a time, servers first, each Ready before the next restarts', async () => {
    const r = await site('-e', 'kube_proxy_mode=iptables');
    expect(r.code, failures(r)).toBe(0);
    const order = ['cp1', 'w1', 'w2'].flatMap((h) => [
      positions(r, h, 'restart K3s'),
      positions(r, h, 'node is Ready'),
    ]);
    expect(order.every((p) => p >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('--check --diff shows exactly one changed variable and writes nothing; --role applies only that role', async () => {
    const snapshots = NODES.map((h) => layerSnapshot(lab().host(h).layer));
    const check = await site(
      '-C',
      '-D',
      '-e',
      'kube_proxy_mode=iptables',
      '-e',
      '{"k3s_tls_san": ["api.example.org"]}',
    );
    expect(check.code, failures(check)).toBe(0);
    expect(changedTasks(check.report)).toEqual(['cp1 k3s-config K3s config', 'cp1 k3s-config restart K3s']);
    expect(check.stdout).toMatch(/\+tls-san:\n\s+\+ {2}- api\.example\.org/);
    NODES.forEach((h, i) =>
      expect(snapshotDiff(snapshots[i] ?? new Map(), layerSnapshot(lab().host(h).layer))).toEqual([]),
    );

    const apply = await play([
      'site.yaml',
      '-i',
      inventory,
      '--role',
      'k3s-config',
      '-e',
      'kube_proxy_mode=iptables',
      '-e',
      '{"k3s_tls_san": ["api.example.org"]}',
    ]);
    expect(apply.code, failures(apply)).toBe(0);
    expect(new Set(apply.report?.results.map((t) => t.role))).toEqual(new Set(['k3s-config']));
    expect(changedTasks(apply.report)).toEqual(['cp1 k3s-config K3s config', 'cp1 k3s-config restart K3s']);
  });

  it('kube_proxy_mode ipvs fails clearly where the kernel has no IPVS (no deprecation warning before Kubernetes 1.35)', async () => {
    const r = await site('-e', 'kube_proxy_mode=ipvs', '-l', 'w2');
    expect(r.code, failures(r)).toBe(2);
    expect(r.stdout).not.toMatch(/deprecated/);
    expect(r.stdout).toMatch(
      /IPVS modules loaded now: FAILED[\s\S]*kernel module ip_vs cannot be loaded: kube_proxy_mode ipvs needs it/,
    );
    expect(await onHostOk('w2', 'grep proxy-mode /etc/rancher/k3s/config.yaml')).toContain('proxy-mode=iptables');
  });

  it("refuses the article's unquoted kubeconfig mode and unknown proxy modes before contacting any host", async () => {
    const r = await site('-e', '{"k3s_write_kubeconfig_mode": 644}', '-e', 'kube_proxy_mode=userspace');
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/-e #1:1:\d+: k3s_write_kubeconfig_mode: expected a string matching \^0\[0-7\]\{3\}\$/);
    expect(r.stderr).toMatch(/-e #2: kube_proxy_mode: expected one of "ipvs", "iptables", "nftables"/);
  });
});
