import { $ } from 'zx';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab, freshHosts, lab, onHost, onHostOk, removeFirewall } from './lab-fixture.ts';
import { changedTasks, failures, play, siteInventory } from './play-runner.ts';

const HOSTS = ['edge', 'cp1', 'w1', 'w2'];

/** Whether a TCP connection to host:port opens from the controller (or from a lab host). */
async function tcpOpens(address: string, port: number, fromHost?: string): Promise<boolean> {
  const probe = `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/${port}'`;
  if (fromHost) return (await onHost(fromHost, probe)).exitCode === 0;
  return (
    (await $({ quiet: true, nothrow: true })`ip netns exec ${lab().names.controller} bash -c ${probe}`).exitCode === 0
  );
}

const dropped = async (host: string) =>
  Number(
    /packets (\d+)/.exec(await onHostOk(host, 'nft list chain inet play_firewall input | grep "not allowed"'))?.[1] ??
      NaN,
  );

describeLab('site.yaml on the lab: the whole cluster in BGP mode, then the firewall', () => {
  let bgp = '';
  beforeAll(async () => {
    await freshHosts(...HOSTS);
    bgp = siteInventory('example-bgp');
  });
  afterAll(async () => {
    await removeFirewall(...HOSTS);
  });

  // A whole site run installs K3s and MetalLB for real: about 40 s, more on a busy machine; the
  // runner's own guard (180 s) reports the cluster if one hangs.
  it('runs every role; the second run reports zero changed', async () => {
    const first = await play(['site.yaml', '-i', bgp]);
    expect(first.code, failures(first)).toBe(0);
    expect(new Set(first.report?.results.map((r) => r.role))).toEqual(
      new Set(['k3s-config', 'sysctl', 'metallb-install', 'l2-or-bgp', 'frr-edge', 'firewall']),
    );
    const second = await play(['site.yaml', '-i', bgp]);
    expect(second.code, failures(second)).toBe(0);
    expect(changedTasks(second.report)).toEqual([]);
  });

  it('firewall: BGP and BFD reach the edge from the nodes only; SSH still works from the controller', async () => {
    // bgpd drops SYNs without the MD5 signature itself, so the firewall's own drop counter tells.
    const start = await dropped('edge');
    await tcpOpens('192.0.2.1', 179, 'cp1');
    await onHostOk('cp1', 'echo x > /dev/udp/192.0.2.1/3784; echo x > /dev/udp/192.0.2.1/4784');
    expect(await dropped('edge')).toBe(start);
    expect(await tcpOpens('192.0.2.1', 179)).toBe(false);
    const afterTcp = await dropped('edge');
    expect(afterTcp).toBeGreaterThan(start);
    await $({
      quiet: true,
    })`ip netns exec ${lab().names.controller} bash -c ${'echo x > /dev/udp/192.0.2.1/3784; echo x > /dev/udp/192.0.2.1/4784'}`;
    expect(await dropped('edge')).toBe(afterTcp + 2);
    expect(await onHostOk('edge', "nft list chain inet play_firewall input | grep 'bfd from the nodes'")).toMatch(
      /ip saddr \{ 192\.0\.2\.11, 192\.0\.2\.12, 192\.0\.2\.13 \} udp dport \{ 3784, 4784 \} accept/,
    );
    // And back: BFD control packets and sessions the edge opens (FRR-based speakers) reach the nodes, from the edge only.
    const nodeChain = await onHostOk('w1', 'nft list chain inet play_firewall input');
    expect(nodeChain).toMatch(/ip saddr 192\.0\.2\.1 tcp dport 179 accept comment "bgp from the routers"/);
    expect(nodeChain).toMatch(/ip saddr 192\.0\.2\.1 udp dport \{ 3784, 4784 \} accept comment "bfd from the routers"/);
    for (const h of HOSTS) expect((await onHostOk(h, 'echo reachable')).trim()).toBe('reachable');
  });

  it("firewall: the edge takes BGP sessions the provider's routers (frr_upstreams) open", async () => {
    const upstream = JSON.stringify({ frr_upstreams: [{ address: '203.0.113.1', asn: 64500 }] });
    const r = await play(['site.yaml', '-i', bgp, '--role', 'firewall', '--limit', 'edge', '-C', '-D', '-e', upstream]);
    expect(r.code, failures(r)).toBe(0);
    expect(r.stdout).toMatch(
      /\+\s+ip saddr \{ 203\.0\.113\.1 \} tcp dport 179 accept comment "bgp from the upstream routers"/,
    );
  });

  it('firewall: the API answers the nodes, not other sources; memberlist 7946 is open between nodes', async () => {
    expect(await tcpOpens('192.0.2.11', 6443, 'w1')).toBe(true);
    expect(await tcpOpens('192.0.2.11', 6443)).toBe(false);
    expect(await onHostOk('w1', 'nft list chain inet play_firewall input')).toMatch(
      /ip saddr \{ 192\.0\.2\.11, 192\.0\.2\.12, 192\.0\.2\.13 \} tcp dport 7946 accept/,
    );
  });

  it('firewall lockout: variables that would block the controller end with the host reachable and the role failed, saying so', async () => {
    const r = await play([
      'site.yaml',
      '-i',
      bgp,
      '--role',
      'firewall',
      '-l',
      'w2',
      '-e',
      '{"firewall_ssh_sources": ["10.9.9.9/32"]}',
    ]);
    expect(r.code, failures(r)).toBe(2);
    expect(r.stdout).toMatch(
      /apply firewall \(handler\): FAILED: the new firewall blocked a new SSH connection from the controller .*the host restored the previous ruleset \(live and in \/etc\/play-firewall\/ruleset\.nft\) after 10 s and the host is reachable again/,
    );
    expect(
      await onHostOk(
        'w2',
        'grep -c 10.9.9.9 /etc/play-firewall/ruleset.nft; nft list table inet play_firewall | grep -c 10.9.9.9',
      ).catch((e: Error) => e.message),
    ).toMatch(/exited 1/);
    expect((await onHostOk('w2', 'echo still here')).trim()).toBe('still here');
  });

  it('--check --diff after changing one variable shows just that change on the edge and writes nothing', async () => {
    const check = await play(['site.yaml', '-i', bgp, '-C', '-D', '-e', 'frr_maximum_paths=16']);
    expect(check.code, failures(check)).toBe(0);
    expect(changedTasks(check.report), failures(check)).toEqual(['edge frr-edge frr.conf', 'edge frr-edge reload FRR']);
    expect(check.stdout).toMatch(/-\s+maximum-paths 8\n\s+\+\s+maximum-paths 16/);
    expect(await onHostOk('edge', 'grep maximum-paths /etc/frr/frr.conf')).toContain('maximum-paths 8');
  });

  it('layer2 mode: L2Advertisement, no BGP on the edge, memberlist still open between nodes', async () => {
    const l2 = siteInventory('example-l2');
    const r = await play(['site.yaml', '-i', l2]);
    expect(r.code, failures(r)).toBe(0);
    expect(await onHostOk('cp1', 'k3s kubectl -n metallb-system get l2advertisements -o name')).toBe(
      'l2advertisement.metallb.io/public-l2\n',
    );
    expect(await onHostOk('edge', 'nft list chain inet play_firewall input')).not.toMatch(/dport 179/);
    expect(await onHostOk('w2', 'nft list chain inet play_firewall input')).toMatch(/tcp dport 7946 accept/);
  });
});
