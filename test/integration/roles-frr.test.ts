import { beforeAll, expect, it } from 'vitest';
import { describeLab, eventually, freshHosts, onHostOk } from './lab-fixture.ts';
import { changedTasks, exampleInventory, exampleVars, failures, play } from './play-runner.ts';

const NODES: Record<string, string> = { cp1: '192.0.2.11', w1: '192.0.2.12', w2: '192.0.2.13' };
const INSIDE = '198.51.100.130/32';
const OUTSIDE = '203.0.113.5/32';

/**
 * FRR on a node, configured as MetalLB's FRR speaker would be for the example-bgp variables:
 * eBGP to the edge with the MD5 password and the fast-bfd profile; cp1 also announces one /32
 * inside the pool and one outside it.
 */
function speakerConfig(host: string, password: string): string {
  const announce = host === 'cp1' ? [INSIDE, OUTSIDE] : [];
  return [
    'frr defaults traditional',
    'bfd',
    ' profile fast-bfd',
    '  receive-interval 50',
    '  transmit-interval 50',
    ' exit',
    'exit',
    ...announce.map((p) => `ip route ${p} blackhole`),
    'router bgp 65010',
    ` bgp router-id ${NODES[host]}`,
    ' no bgp ebgp-requires-policy',
    ' neighbor 192.0.2.1 remote-as 65000',
    ` neighbor 192.0.2.1 password ${password}`,
    ' neighbor 192.0.2.1 timers 60 180',
    ' neighbor 192.0.2.1 timers connect 5',
    ' neighbor 192.0.2.1 bfd profile fast-bfd',
    ' address-family ipv4 unicast',
    ...announce.map((p) => `  network ${p}`),
    ' exit-address-family',
    'exit',
    '',
  ].join('\n');
}

async function startSpeaker(host: string, password: string): Promise<void> {
  const setup = [
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -q frr >/dev/null',
    "sed -i 's/^bgpd=.*/bgpd=yes/; s/^bfdd=.*/bfdd=yes/' /etc/frr/daemons",
    "cat > /etc/frr/frr.conf <<'EOF'",
    'systemctl reset-failed frr && systemctl restart frr',
  ].join(' && ');
  await onHostOk(host, `${setup}\n${speakerConfig(host, password)}EOF\n`, 120_000);
}

const vtysh = async (cmd: string) => JSON.parse(await onHostOk('edge', `vtysh -c '${cmd}'`)) as Record<string, unknown>;

const bgpStates = async () => {
  const peers =
    ((await vtysh('show bgp summary json')).ipv4Unicast as { peers?: Record<string, { state: string }> } | undefined)
      ?.peers ?? {};
  return Object.fromEntries(Object.entries(peers).map(([a, p]) => [a, p.state]));
};

describeLab('role frr-edge on the lab, with FRR speakers on the nodes', () => {
  let inventory = '';
  beforeAll(async () => {
    // Fresh nodes too: the test's FRR stands in for MetalLB's FRR speaker, so no K3s (whose
    // speaker would peer with the edge as well) and no firewall left by an earlier test (one
    // made for layer2 drops the edge's BFD packets).
    await freshHosts('edge', ...Object.keys(NODES));
    // A short connect retry on both ends, so sessions come up in seconds once the speakers start.
    // The example's own peers and BFD profile (the lab's copy leaves BFD out: its MetalLB speakers are native).
    const example = exampleVars('example-bgp');
    const peers = (example.metallb_bgp_peers as Record<string, unknown>[]).map((p) => ({ ...p, connectTime: '5s' }));
    inventory = exampleInventory('example-bgp', {
      metallb_bgp_peers: peers,
      metallb_bfd_profiles: example.metallb_bfd_profiles,
    });
  });

  it('installs FRR, writes frr.conf validated by vtysh, mode 0640, the password in it readable only by frr', async () => {
    const r = await play(['site.yaml', '-i', inventory, '--role', 'frr-edge']);
    expect(r.code, failures(r)).toBe(0);
    expect(changedTasks(r.report)).toEqual(
      expect.arrayContaining([
        'edge frr-edge FRR installed',
        'edge frr-edge bgpd and bfdd enabled',
        'edge frr-edge frr.conf',
        'edge frr-edge restart FRR',
      ]),
    );
    // Both handlers are due on a fresh edge; the restart makes the reload pointless.
    expect(r.report?.results.find((t) => t.task === 'reload FRR')).toMatchObject({
      status: 'skipped',
      handler: true,
      message: 'not needed: restart FRR runs too',
    });
    expect(
      await onHostOk('edge', "stat -c '%a %U %G' /etc/frr/frr.conf; grep -c '^bgpd=yes\\|^bfdd=yes' /etc/frr/daemons"),
    ).toBe('640 frr frr\n2\n');
    const conf = await onHostOk('edge', 'cat /etc/frr/frr.conf');
    for (const [name, addr] of Object.entries(NODES)) {
      expect(conf).toContain(
        ` neighbor ${addr} remote-as 65010\n neighbor ${addr} description k3s node ${name}\n neighbor ${addr} password supersecret-md5\n neighbor ${addr} timers 60 180\n neighbor ${addr} timers connect 5\n neighbor ${addr} bfd\n neighbor ${addr} bfd profile fast-bfd`,
      );
    }
    expect(conf).not.toContain('ebgp-multihop');
    expect(conf).toContain('ip prefix-list METALLB-POOLS seq 5 permit 198.51.100.128/27 le 32');
    expect(conf).toContain('maximum-paths 8');
    expect(r.stdout + JSON.stringify(r.report)).not.toContain('supersecret-md5');
  });

  it('sessions reach Established with the MD5 password, BFD is up, only pool prefixes are accepted', async () => {
    await Promise.all(Object.keys(NODES).map((h) => startSpeaker(h, 'supersecret-md5')));
    await eventually('all sessions Established', bgpStates, (s) =>
      Object.keys(NODES).every((h) => s[NODES[h] ?? ''] === 'Established'),
    );
    const bfd = await eventually(
      'BFD up',
      async () =>
        JSON.parse(await onHostOk('edge', "vtysh -c 'show bfd peers json'")) as { peer: string; status: string }[],
      (peers) => peers.filter((p) => p.status === 'up').length === 3,
    );
    expect(bfd.map((p) => p.peer).sort()).toEqual(Object.values(NODES).sort());
    const routes = await eventually(
      'pool /32 learned',
      async () => Object.keys(((await vtysh('show ip bgp json')).routes ?? {}) as object),
      (r) => r.includes(INSIDE),
    );
    expect(routes).not.toContain(OUTSIDE);
    const report = await play(['site.yaml', '-i', inventory, '--role', 'frr-edge']);
    expect(report.stdout).toMatch(
      /BGP neighbors: ok: neighbors: 192\.0\.2\.11 Established \(1 prefixes\), 192\.0\.2\.12 Established \(0 prefixes\), 192\.0\.2\.13 Established \(0 prefixes\)/,
    );
    expect(changedTasks(report.report)).toEqual([]);
  }, 180_000);

  it('a speaker with the wrong password never gets a session', async () => {
    await startSpeaker('w2', 'wrong-password');
    await new Promise((r) => setTimeout(r, 8000));
    expect((await bgpStates())['192.0.2.13']).not.toBe('Established');
    await startSpeaker('w2', 'supersecret-md5');
    await eventually('w2 back', bgpStates, (s) => s['192.0.2.13'] === 'Established');
  }, 180_000);

  it('a changed variable reloads FRR without dropping the sessions', async () => {
    const uptime = async () =>
      ((await vtysh('show bgp summary json')).ipv4Unicast as { peers: Record<string, { peerUptimeMsec: number }> })
        .peers['192.0.2.11']?.peerUptimeMsec ?? 0;
    const before = await uptime();
    const r = await play(['site.yaml', '-i', inventory, '--role', 'frr-edge', '-e', 'frr_maximum_paths=4']);
    expect(r.code, failures(r)).toBe(0);
    expect(changedTasks(r.report)).toEqual(['edge frr-edge frr.conf', 'edge frr-edge reload FRR']);
    expect(await onHostOk('edge', "vtysh -c 'show running-config' | grep maximum-paths")).toContain('maximum-paths 4');
    expect(await uptime()).toBeGreaterThan(before);
    expect((await bgpStates())['192.0.2.11']).toBe('Established');
  });
});
