import { beforeAll, expect, it } from 'vitest';
import { describeLab, eventually, freshHosts, onHostOk } from './lab-fixture.ts';
import { failures, play, siteInventory } from './play-runner.ts';
import { apply, echoLb, echoLbFollowsReadyEndpoints, neighbors, nextHops, NODES, serviceIp } from './metallb-edge.ts';

/**
 * The article's BGP setup as written, BFD included, on MetalLB's FRR-based speaker
 * (metallb-frr.yaml): FRR runs beside every speaker in its pod, the speaker renders its config and
 * the reloader applies it. The real controller, webhook and speakers; FRR from Debian stands in
 * for FRR's image (test/lab/README.md).
 */

interface BfdPeer {
  peer: string;
  status: string;
  'remote-receive-interval': number;
  'remote-transmit-interval': number;
  'remote-detect-multiplier': number;
}

const bfdPeers = async (): Promise<BfdPeer[]> =>
  JSON.parse(await onHostOk('edge', `vtysh -c 'show bfd peers json'`)) as BfdPeer[];

/** The system clock's nanoseconds on a host; the lab's hosts share the machine's clock. */
const nanos = (text: string): bigint => BigInt(text.trim().split('\n').pop() ?? '0');

describeLab('MetalLB for real with FRR beside the speaker: BFD, and a frozen node withdrawn within a second', () => {
  let inventory = '';
  beforeAll(async () => {
    await freshHosts('edge', 'cp1', 'w1', 'w2');
    inventory = siteInventory('example-bgp', 'frr');
    const r = await play(['site.yaml', '-i', inventory]);
    expect(r.code, failures(r)).toBe(0);
  }, 600_000);

  it("runs every speaker pod as its manifest says: init containers done, then FRR, the reloader, FRR's metrics and the speaker, each Ready", async () => {
    const template = `{{range .items}}{{.spec.nodeName}}{{range .status.initContainerStatuses}} {{.name}}:{{if .state.terminated}}{{.state.terminated.reason}}{{end}}{{end}}{{range .status.containerStatuses}} {{.name}}:{{.ready}}{{end}}{{"\\n"}}{{end}}`;
    const pods = await eventually(
      'speakers ready',
      () => onHostOk('cp1', `k3s kubectl -n metallb-system get pods -l component=speaker -o go-template='${template}'`),
      (out) => out.trim().split('\n').length === 3 && !out.includes('false') && !/:\s|:$/m.test(out),
    );
    expect(pods.trim().split('\n').sort()).toEqual(
      ['cp1', 'w1', 'w2'].map(
        (n) =>
          `${n} cp-frr-files:Completed cp-reloader:Completed cp-metrics:Completed frr:true reloader:true frr-metrics:true speaker:true`,
      ),
    );
  });

  it("every node's FRR reaches Established with the edge (MD5), with the article's timers, and a BFD session at the profile's intervals", async () => {
    const peers = await eventually(
      'BGP sessions',
      neighbors,
      (n) => Object.values(NODES).every((ip) => n[ip]?.state === 'Established'),
      { timeoutMs: 90_000 },
    );
    expect(Object.keys(peers).sort()).toEqual(Object.values(NODES).sort());
    expect(await onHostOk('edge', `vtysh -c 'show running-config' | grep -c 'password'`)).toMatch(/^3\s*$/);
    // holdTime 180s and keepaliveTime 60s reached the node's FRR: the session negotiated them.
    const w1 = JSON.parse(await onHostOk('edge', `vtysh -c 'show bgp neighbors ${NODES.w1} json'`)) as Record<
      string,
      { bgpTimerHoldTimeMsecs: number; bgpTimerKeepAliveIntervalMsecs: number }
    >;
    expect(w1[NODES.w1 ?? '']).toMatchObject({
      bgpTimerHoldTimeMsecs: 180_000,
      bgpTimerKeepAliveIntervalMsecs: 60_000,
    });
    const bfd = await eventually('BFD sessions up', bfdPeers, (p) => p.filter((x) => x.status === 'up').length === 3);
    expect(
      bfd
        .map((p) => [
          p.peer,
          p.status,
          p['remote-receive-interval'],
          p['remote-transmit-interval'],
          p['remote-detect-multiplier'],
        ])
        .sort(),
    ).toEqual(
      Object.values(NODES)
        .sort()
        .map((ip) => [ip, 'up', 50, 50, 3]),
    );
  });

  it('echo-lb gets an address; the edge routes it to exactly the nodes with ready endpoints', async () => {
    await echoLbFollowsReadyEndpoints();
  });

  it('a node whose FRR freezes (its BGP hold time is 3 minutes) loses its path within a second, by BFD; it comes back when FRR resumes', async () => {
    await apply(echoLb({ w1: true, w2: true }));
    const ip = await serviceIp();
    await eventually(
      'both paths',
      () => nextHops(ip),
      (h) => h.length === 2,
    );
    // The edge watches its kernel's route for w1's next hop, every 10 ms, and says when it went.
    const gone = onHostOk(
      'edge',
      `for i in $(seq 1 1000); do ip route show ${ip} | grep -q 'via ${NODES.w1} ' || { date +%s%N; exit 0; }; sleep 0.01; done; echo never`,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const frozenAt = nanos(await onHostOk('w1', 'date +%s%N; pkill -STOP -x bfdd; pkill -STOP -x bgpd'));
    try {
      const goneText = await gone;
      expect(goneText).not.toContain('never');
      const ms = Number((nanos(goneText) - frozenAt) / 1_000_000n);
      expect(ms).toBeLessThan(1000);
      expect(await nextHops(ip)).toEqual([NODES.w2]);
    } finally {
      await onHostOk('w1', 'pkill -CONT -x bfdd; pkill -CONT -x bgpd');
    }
    expect(
      await eventually(
        'w1 back',
        () => nextHops(ip),
        (h) => h.length === 2,
        { timeoutMs: 120_000 },
      ),
    ).toEqual([NODES.w1, NODES.w2]);
  }, 180_000);

  it("stopping a node's K3s stops its pod's FRR with it (no daemon left behind), and the path goes", async () => {
    const ip = await serviceIp();
    await onHostOk('w1', 'systemctl stop k3s-agent');
    try {
      expect(
        await eventually(
          'w1 gone',
          () => nextHops(ip),
          (h) => h.length === 1,
          { timeoutMs: 60_000 },
        ),
      ).toEqual([NODES.w2]);
      expect(await onHostOk('w1', `pgrep -x 'bgpd|bfdd|zebra|watchfrr|speaker' || true`)).toBe('');
    } finally {
      await onHostOk('w1', 'systemctl start k3s-agent');
    }
    expect(
      await eventually(
        'w1 back',
        () => nextHops(ip),
        (h) => h.length === 2,
        { timeoutMs: 120_000 },
      ),
    ).toEqual([NODES.w1, NODES.w2]);
  });
});
