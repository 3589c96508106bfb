import { beforeAll, expect, it } from 'vitest';
import { clientGet, cutHost, reconnectHost } from '../lab/traffic/traffic.ts';
import { labExampleVars } from '../lab/example-inventory.ts';
import { describeLab, eventually, freshHosts, lab, onHostOk } from './lab-fixture.ts';
import { exampleInventory, failures, play } from './play-runner.ts';
import {
  deployEcho,
  ECHO_TOGGLED,
  echoPods,
  markReady,
  markUnready,
  neighbors,
  nextHops,
  NODES,
  routedVia,
} from './metallb-edge.ts';
import {
  clientAddress,
  clientRequest,
  countOnProvider,
  countPackets,
  nothingLost,
  packetsCounted,
  recordFigure,
  requests,
  requestsDuring,
} from './traffic.ts';
import { summarize } from '../lab/traffic/traffic.ts';

/**
 * The article's BGP setup as written, BFD included, on MetalLB's FRR-based speaker
 * (metallb-frr.yaml), proved with traffic: the demo's echo-lb served by real agnhost pods, asked by
 * the lab's client on the internet side, whose requests reach the pool only through the provider's
 * router and the edge (test/lab/README.md). What the client sees is counted: requests answered,
 * failed, and how long the failures lasted.
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

/** The edge watches its kernel's route to ip every 10 ms and says when `node` left it (epoch ms), or 'never'. */
const watchPathGone = (ip: string, node: string, seconds = 30): Promise<string> =>
  onHostOk(
    'edge',
    `for i in $(seq 1 ${seconds * 100}); do ip route show ${ip} | grep -q 'via ${NODES[node]} ' || { date +%s%N; exit 0; }; sleep 0.01; done; echo never`,
    (seconds + 10) * 1000,
  );

const millis = (text: string): number => Number(nanos(text) / 1_000_000n);

describeLab(
  "BGP with BFD: real pods answer a client beyond the edge, through a node's death and its maintenance",
  () => {
    let inventory = '';
    let ip = '';
    const url = (path: string): string => `http://${ip}${path}`;

    beforeAll(async () => {
      await freshHosts('edge', 'cp1', 'w1', 'w2');
      // connectTime 5s: a node whose session went down (cut, frozen) is back within seconds, not
      // FRR's 2 minutes; the failure being measured is unchanged.
      const peers = (labExampleVars('example-bgp', 'frr').metallb_bgp_peers as Record<string, unknown>[]).map((p) => ({
        ...p,
        connectTime: '5s',
      }));
      inventory = exampleInventory(
        'example-bgp',
        { firewall_rollback_seconds: 10, ansible_timeout: 4, metallb_bgp_peers: peers },
        'frr',
      );
      const r = await play(['site.yaml', '-i', inventory]);
      expect(r.code, failures(r)).toBe(0);
      ip = (await deployEcho(ECHO_TOGGLED)).ip;
    }, 600_000);

    it("runs every speaker pod as its manifest says: init containers done, then FRR, the reloader, FRR's metrics and the speaker, each Ready", async () => {
      const template = `{{range .items}}{{.spec.nodeName}}{{range .status.initContainerStatuses}} {{.name}}:{{if .state.terminated}}{{.state.terminated.reason}}{{end}}{{end}}{{range .status.containerStatuses}} {{.name}}:{{.ready}}{{end}}{{"\\n"}}{{end}}`;
      const pods = await eventually(
        'speakers ready',
        () =>
          onHostOk('cp1', `k3s kubectl -n metallb-system get pods -l component=speaker -o go-template='${template}'`),
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
        (n) => Object.values(NODES).every((a) => n[a]?.state === 'Established'),
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
          .map((a) => [a, 'up', 50, 50, 3]),
      );
    });

    it("a request from beyond the edge is answered by a pod, which sees the client's own address; the edge forwards it, the replies go straight back through the provider", async () => {
      expect(ip).toMatch(/^198\.51\.100\.(1[2-5]\d)$/);
      await routedVia(ip, ['w1', 'w2']);
      // The edge forwards, persisted and live, and spreads connections by their ports.
      expect(await onHostOk('edge', 'sysctl -n net.ipv4.ip_forward net.ipv4.fib_multipath_hash_policy')).toBe('1\n1\n');
      expect(await onHostOk('edge', 'cat /etc/sysctl.d/99-play-frr-edge.conf')).toContain('net.ipv4.ip_forward = 1');
      await countPackets('edge', ip);
      const provider = await countOnProvider(ip);
      expect(await clientRequest(url('/clientip'))).toMatch(
        new RegExp(`^${clientAddress().replaceAll('.', '\\.')}:\\d+$`),
      );
      const pods = (await echoPods()).map((p) => p.name);
      expect(pods).toContain(await clientRequest(url('/hostname')));
      const edge = await packetsCounted('edge');
      const router = await provider();
      // Two connections: every packet from the client crossed the provider's router and the edge;
      // the replies, sent by each node to its default gateway, crossed the provider's router only.
      expect(edge['forwarded-to']).toBeGreaterThanOrEqual(8);
      expect(edge['forwarded-from']).toBe(0);
      expect(router['forwarded-to']).toBe(edge['forwarded-to']);
      expect(router['forwarded-from']).toBeGreaterThanOrEqual(6);
    });

    it('ECMP: new connections from the client reach both nodes with a ready pod, each answered by its pod; the node without one gets none', async () => {
      for (const h of ['cp1', 'w1', 'w2']) await countPackets(h, ip);
      const s = await requests(url('/hostname'), 300);
      const counted = Object.fromEntries(
        await Promise.all(['cp1', 'w1', 'w2'].map(async (h) => [h, (await packetsCounted(h)).to ?? 0] as const)),
      );
      nothingLost(s);
      const pods = await echoPods();
      expect(Object.keys(s.answers).sort()).toEqual(pods.map((p) => p.name).sort());
      for (const p of pods) expect(s.answers[p.name] ?? 0, p.name).toBeGreaterThan(s.total * 0.2);
      expect(counted.cp1).toBe(0);
      expect(counted.w1).toBeGreaterThan(0);
      expect(counted.w2).toBeGreaterThan(0);
      recordFigure(
        'ecmp share w1',
        Math.round((100 * (s.answers[pods[0]?.name ?? ''] ?? 0)) / s.total),
        '%',
        `of ${s.total} new connections from the client, answered by w1's pod`,
      );
    });

    it("externalTrafficPolicy Cluster: every node announces, requests still arrive, and the pod sees a node's address instead of the client's", async () => {
      const policy = (p: string) =>
        onHostOk('cp1', `k3s kubectl patch svc echo-lb --type merge -p '{"spec":{"externalTrafficPolicy":"${p}"}}'`);
      await policy('Cluster');
      try {
        await routedVia(ip, ['cp1', 'w1', 'w2'], 60_000);
        const s = await requests(url('/clientip'), 150);
        nothingLost(s);
        const seen = Object.keys(s.answers).map((a) => a.replace(/:\d+$/, ''));
        expect(seen).not.toContain(clientAddress());
        // kube-proxy masquerades: a node's own address towards another node's pod, its pod network's
        // gateway towards its own.
        for (const a of seen) expect(a).toMatch(/^(192\.0\.2\.1[123]|10\.42\.\d+\.1)$/);
        console.log(`externalTrafficPolicy Cluster: pods saw ${[...new Set(seen)].sort().join(', ')}`);
      } finally {
        await policy('Local');
      }
      await routedVia(ip, ['w1', 'w2'], 60_000);
    });

    it("a pod whose readiness probe starts failing takes its node's route away at the edge; the client's requests sent there meanwhile are answered late, none lost", async () => {
      const w2 = (await echoPods()).find((p) => p.node === 'w2');
      if (!w2) throw new Error('no echo pod on w2');
      let markedAt = 0;
      let withdrawnAt = 0;
      const list = await requestsDuring(url('/hostname'), async () => {
        const gone = watchPathGone(ip, 'w2');
        await new Promise((r) => setTimeout(r, 300));
        markedAt = Date.now();
        await markUnready(w2);
        withdrawnAt = millis(await gone);
        await routedVia(ip, ['w1'], 10_000);
      });
      expect(withdrawnAt, 'the edge never dropped w2').toBeGreaterThan(0);
      const s = summarize(list);
      nothingLost(s);
      // kube-proxy stops sending to w2 as soon as its pod is unready; the route goes once MetalLB's
      // FRR mode reloads (it waits 3 s for more changes first): SYNs sent there meanwhile are lost
      // and answered on TCP's retransmission, by w1.
      for (const r of s.disturbed) expect(r.at, JSON.stringify(r)).toBeLessThan(withdrawnAt + 100);
      recordFigure(
        'readiness withdrawal',
        withdrawnAt - markedAt,
        'ms',
        "from the pod marking itself unready (periodSeconds 1) to the edge dropping its node's path",
      );
      recordFigure(
        'readiness client delayed',
        s.disturbed.length,
        'requests',
        `of ${s.total}, answered late (slowest ${s.slowestMs} ms), none lost`,
      );
      await markReady(w2);
      await routedVia(ip, ['w1', 'w2'], 30_000);
    });

    it('scaling from 2 replicas to 1 loses no request (the PDB still holds); back to 2, both nodes announce again', async () => {
      const scale = (n: number) => onHostOk('cp1', `k3s kubectl scale deployment echo --replicas=${n}`);
      const list = await requestsDuring(url('/hostname'), async () => {
        await scale(1);
        await eventually('one echo pod left', echoPods, (p) => p.length === 1, { timeoutMs: 60_000 });
        const left = (await echoPods())[0]?.node ?? '';
        await routedVia(ip, [left], 30_000);
        // The terminating pod's grace: it still serves what it has while its node's route goes.
        await new Promise((r) => setTimeout(r, 6_000));
      });
      const s = summarize(list);
      nothingLost(s);
      recordFigure(
        'scale-down client delayed',
        s.disturbed.length,
        'requests',
        `of ${s.total} while echo scaled from 2 to 1 (slowest ${s.slowestMs} ms), none lost`,
      );
      expect(
        await onHostOk(
          'cp1',
          `k3s kubectl get pdb echo -o go-template='{{.status.currentHealthy}}/{{.status.desiredHealthy}}'`,
        ),
      ).toBe('1/1');
      await scale(2);
      await eventually(
        'two ready echo pods on w1 and w2',
        echoPods,
        (p) => p.length === 2 && p.every((x) => x.ready) && p.map((x) => x.node).join() === 'w1,w2',
        { timeoutMs: 60_000 },
      );
      await routedVia(ip, ['w1', 'w2'], 30_000);
    });

    it('a node cut off abruptly (its link down, no clean shutdown): BFD makes the edge drop its path within a second, and the client sees only that window', async () => {
      let cutAt = 0;
      let goneAt = 0;
      const list = await requestsDuring(url('/hostname'), async () => {
        await new Promise((r) => setTimeout(r, 1000));
        const gone = watchPathGone(ip, 'w1');
        await new Promise((r) => setTimeout(r, 300));
        cutAt = await cutHost(lab().names, 'w1');
        try {
          goneAt = millis(await gone);
          await new Promise((r) => setTimeout(r, 2000));
        } finally {
          await reconnectHost(lab().names, 'w1');
        }
      });
      expect(goneAt, 'the edge never dropped w1').toBeGreaterThan(0);
      const withdrawalMs = goneAt - cutAt;
      expect(withdrawalMs).toBeLessThan(1000);
      const s = summarize(list);
      // Only connections started before the withdrawal are disturbed (their SYN went to the dead
      // node and was answered on TCP's retransmission, by w2); at most one in flight at the cut is lost.
      for (const r of s.disturbed) expect(r.at, JSON.stringify(r)).toBeLessThanOrEqual(goneAt + 100);
      expect(s.failed).toBeLessThanOrEqual(1);
      recordFigure(
        'bfd withdrawal',
        withdrawalMs,
        'ms',
        "w1's link cut; the edge's kernel route via w1 gone (BFD 3 x 50 ms)",
      );
      recordFigure(
        'bfd client disturbed',
        s.disturbed.length,
        'requests',
        `of ${s.total} (one every 20 ms), ${s.failed} failed, all started within ${withdrawalMs} ms of the cut`,
      );
      await routedVia(ip, ['w1', 'w2'], 120_000);
    }, 180_000);

    it('a node whose FRR freezes (its BGP hold time is 3 minutes) loses its path within a second, by BFD; it comes back when FRR resumes', async () => {
      const gone = watchPathGone(ip, 'w1');
      await new Promise((r) => setTimeout(r, 500));
      const frozenAt = nanos(await onHostOk('w1', 'date +%s%N; pkill -STOP -x bfdd; pkill -STOP -x bgpd'));
      try {
        const goneText = await gone;
        expect(goneText).not.toContain('never');
        expect(Number((nanos(goneText) - frozenAt) / 1_000_000n)).toBeLessThan(1000);
        expect(await nextHops(ip)).toEqual([NODES.w2]);
      } finally {
        await onHostOk('w1', 'pkill -CONT -x bfdd; pkill -CONT -x bgpd');
      }
      await routedVia(ip, ['w1', 'w2'], 120_000);
    }, 180_000);

    it("with kube-proxy in IPVS mode a Service's address is the node's own and meets the firewall's input chain: a listed port gets in, another is dropped", async () => {
      // The lab's kernel has no IPVS: what IPVS does to the packet's path is stood in for. The address
      // is local to the node (IPVS puts it on a dummy link, kube-ipvs0; the lab's kernel has no dummy
      // links either, and on lo it is as local), something listens on it, and the edge routes it to
      // the node as MetalLB's announcement would.
      const vip = '198.51.100.159';
      await onHostOk(
        'w1',
        [
          `ip addr add ${vip}/32 dev lo`,
          `systemd-run --unit=play-ipvs-80 python3 -m http.server 80 --bind ${vip}`,
          `systemd-run --unit=play-ipvs-8081 python3 -m http.server 8081 --bind ${vip}`,
        ].join(' && '),
      );
      await onHostOk('edge', `ip route add ${vip}/32 via ${NODES.w1}`);
      const dropped = async (): Promise<number> =>
        Number(
          /counter packets (\d+)/.exec(
            await onHostOk('w1', `nft list chain inet play_firewall input | grep 'play: not allowed'`),
          )?.[1],
        );
      try {
        await eventually(
          'the listeners',
          () => onHostOk('w1', `ss -ltn | grep -c '${vip}:' || true`),
          (n) => n.trim() === '2',
        );
        // firewall_service_ports opens 80 on the pools' addresses (the examples list it).
        expect(await clientRequest(`http://${vip}/`)).toContain('Directory listing');
        const before = await dropped();
        await expect(clientGet(lab().names, `http://${vip}:8081/`, 3)).rejects.toThrow(/timed out/);
        expect(await dropped()).toBeGreaterThan(before);
      } finally {
        await onHostOk('edge', `ip route del ${vip}/32 via ${NODES.w1}`);
        await onHostOk('w1', `systemctl stop play-ipvs-80 play-ipvs-8081; ip addr del ${vip}/32 dev lo`);
      }
    });

    it("stopping a node's K3s stops its pods, FRR included (no daemon left behind), and the path goes; once it is back, the client is answered through it", async () => {
      await routedVia(ip, ['w1', 'w2']);
      await onHostOk('w1', 'systemctl stop k3s-agent');
      try {
        await routedVia(ip, ['w2'], 60_000);
        expect(await onHostOk('w1', `pgrep -x 'bgpd|bfdd|zebra|watchfrr|speaker|agnhost' || true`)).toBe('');
      } finally {
        await onHostOk('w1', 'systemctl start k3s-agent');
      }
      await routedVia(ip, ['w1', 'w2'], 120_000);
      // The restarted kube-proxy has the Service's rules again (on hosts without /etc/protocols
      // it deleted them all: see netbase in test/lab/image.ts), so what the edge sends w1 reaches
      // its new pod instead of going back out of w1's default route.
      const s = await requests(url('/hostname'), 150);
      nothingLost(s);
      expect(Object.keys(s.answers).sort()).toEqual((await echoPods()).map((p) => p.name).sort());
    });

    it("hitless maintenance: play drain.yaml withdraws w1's announcements, then cordons and drains it; K3s restarts there; play uncordon.yaml brings it back; no request is lost", async () => {
      const list = await requestsDuring(url('/hostname'), async () => {
        const drain = await play(['drain.yaml', '-i', inventory, '-l', 'w1']);
        expect(drain.code, failures(drain)).toBe(0);
        expect(await nextHops(ip)).toEqual([NODES.w2]);
        await countPackets('w1', ip);
        await onHostOk('w1', 'systemctl restart k3s-agent');
        const back = await play(['uncordon.yaml', '-i', inventory, '-l', 'w1']);
        expect(back.code, failures(back)).toBe(0);
        expect((await packetsCounted('w1')).to).toBe(0);
      });
      const s = summarize(list);
      nothingLost(s);
      expect(s.slowestMs).toBeLessThan(500);
      recordFigure(
        'drain client disturbed',
        s.disturbed.length,
        'requests',
        `of ${s.total} across drain, K3s restart and uncordon of w1 (${s.failed} failed, slowest ${s.slowestMs} ms)`,
      );
      // Out of service: the replacement pod went to w2; back in service, w1 is schedulable again.
      expect((await echoPods()).map((p) => p.node)).toEqual(['w2', 'w2']);
      expect(
        await onHostOk(
          'cp1',
          `k3s kubectl get node w1 -o go-template='{{.spec.unschedulable}} {{index .metadata.labels "node.kubernetes.io/exclude-from-external-load-balancers"}}'`,
        ),
      ).toBe('<no value> <no value>');
      const rerun = await play(['uncordon.yaml', '-i', inventory, '-l', 'w1']);
      expect(rerun.report?.recap.w1?.changed, failures(rerun)).toBe(0);
    }, 300_000);
  },
);
