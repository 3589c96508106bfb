import { beforeAll, expect, it } from 'vitest';
import { $ } from 'zx';
import { cutHost, reconnectHost, summarize } from '../lab/traffic/traffic.ts';
import type { Finding } from '../../src/doctor/findings.ts';
import { describeLab, eventually, freshHosts, lab, onHostOk } from './lab-fixture.ts';
import { exampleInventory, failures, play, type PlayRun } from './play-runner.ts';
import { deployEcho, echoPods } from './metallb-edge.ts';
import { clientAddress, clientRequest, nothingLost, recordFigure, requests, requestsDuring } from './traffic.ts';

/**
 * The article's layer2 setup on the lab with the real MetalLB: one node's speaker answers ARP for
 * the demo echo-lb's address (on the nodes' own segment), the provider's router (the controller
 * namespace) asks for it on the client's behalf as a provider's router does, and when that node
 * dies another node with a ready pod takes the address over. play doctor sees the same.
 */
const POOL = '192.0.2.200-192.0.2.210';
const NODES = ['cp1', 'w1', 'w2'];

/**
 * The MACs that answer ARP for ip, asked `count` times (a second apart) with arping from the
 * controller namespace (on the nodes' segment), distinct and sorted; [] when nobody answers.
 */
async function arpAnswers(ip: string, count = 3): Promise<string[]> {
  const ns = lab().names.controller;
  const out = (
    await $({ quiet: true, nothrow: true })`ip netns exec ${ns} arping -c ${count} -w ${count + 1} -I br0 ${ip}`
  ).stdout;
  return [
    ...new Set([...out.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)].map((m) => (m[1] ?? '').toLowerCase())),
  ].sort();
}

interface DoctorReport {
  exitCode: number;
  findings: Finding[];
}

describeLab(
  'MetalLB for real, layer2: one node answers ARP for the address, and another takes over when it dies',
  () => {
    const macs = new Map<string, string>();
    let inventory = '';
    let ip = '';
    beforeAll(async () => {
      await freshHosts('edge', 'cp1', 'w1', 'w2');
      inventory = exampleInventory('example-l2', { metallb_pools: [{ name: 'public-pool', addresses: [POOL] }] });
      // Longer than metallb-install's own 300 s wait, so that a MetalLB that never gets ready is
      // reported by the role, saying what it waited for.
      const r = await play(['site.yaml', '-i', inventory, '--limit', 'k3s_cluster'], { timeoutMs: 360_000 });
      expect(r.code, failures(r)).toBe(0);
      for (const node of NODES) macs.set((await onHostOk(node, 'cat /sys/class/net/eth0/address')).trim(), node);
      ip = (await deployEcho()).ip;
    }, 600_000);

    const owner = async (): Promise<string> => {
      const answers = await eventually(
        'one node answering ARP',
        () => arpAnswers(ip),
        (m) => m.length === 1,
        {
          timeoutMs: 60_000,
        },
      );
      return macs.get(answers[0] ?? '') ?? '';
    };

    it("the client reaches the address through the provider's router, answered by a pod on the one node that answers ARP; the pod sees the client", async () => {
      expect(ip).toMatch(/^192\.0\.2\.(20\d|210)$/);
      // externalTrafficPolicy Local: only a node with a ready pod may hold the address.
      expect(['w1', 'w2']).toContain(await owner());
      expect(await clientRequest(`http://${ip}/clientip`)).toMatch(
        new RegExp(`^${clientAddress().replaceAll('.', '\\.')}:\\d+$`),
      );
      const s = await requests(`http://${ip}/hostname`, 100);
      nothingLost(s);
      // One node holds the address, and with Local its own pod answers every request.
      const holding = macs.get((await arpAnswers(ip, 1))[0] ?? '');
      const holder = (await echoPods()).find((p) => p.node === holding);
      expect(Object.keys(s.answers)).toEqual([holder?.name]);
    });

    it('play doctor asks from the edge with arping and finds one node answering', async () => {
      // A probe host with arping (the local repository serves it, as Debian's mirror would).
      await onHostOk('edge', 'apt-get install -y -qq iputils-arping >/dev/null');
      const doc = await eventually(
        'doctor to see an ARP answer',
        () => play(['doctor', '-i', inventory, '--limit', 'k3s_cluster'], { timeoutMs: 120_000 }),
        (d) => (d.report as unknown as DoctorReport).findings.some((f) => f.area === 'layer2' && f.verdict === 'ok'),
        { timeoutMs: 60_000 },
      );
      const findings = (doc.report as unknown as DoctorReport).findings;
      expect(
        findings.filter((f) => f.verdict !== 'ok').map((f) => `${f.host} ${f.check}: ${f.evidence.join(' | ')}`),
        failures(doc as PlayRun),
      ).toEqual([]);
      expect(doc.code).toBe(0);
      const arp = findings.find((f) => f.area === 'layer2');
      expect(arp?.check).toBe(`ARP for default/echo-lb ${ip}`);
      expect(arp?.evidence[0]).toBe('asked from edge with arping');
      expect(arp?.evidence[1]).toMatch(/^answer: [0-9a-f:]{17} \((w1|w2)\)$/);
    }, 180_000);

    it('the node holding the address cut off abruptly: the other node with a ready pod answers ARP for it, and the client is answered again within seconds', async () => {
      const first = await owner();
      const other = first === 'w1' ? 'w2' : 'w1';
      const otherPod = (await echoPods()).find((p) => p.node === other)?.name;
      let cutAt = 0;
      let movedAt = 0;
      try {
        const list = await requestsDuring(`http://${ip}/hostname`, async () => {
          await new Promise((r) => setTimeout(r, 1000));
          cutAt = await cutHost(lab().names, first);
          const next = await eventually(
            'another node answering',
            () => arpAnswers(ip, 1),
            (m) => m.length > 0 && macs.get(m[0] ?? '') === other,
            { timeoutMs: 90_000, intervalMs: 0 },
          );
          movedAt = Date.now();
          expect(next).toHaveLength(1);
          // Answered again: the provider's router took the new owner's gratuitous ARP.
          await eventually(
            'the client answered by the other pod',
            () => clientRequest(`http://${ip}/hostname`).catch(() => ''),
            (a) => a === otherPod,
            { timeoutMs: 30_000, intervalMs: 200 },
          );
          await new Promise((r) => setTimeout(r, 2000));
        });
        const s = summarize(list);
        const last = s.disturbed.at(-1);
        const outageMs = last ? last.at + last.ms - cutAt : 0;
        expect(s.disturbed.length).toBeGreaterThan(0);
        // Nothing disturbed once the other node answered ARP, beyond the requests then in flight.
        for (const r of s.disturbed) expect(r.at, JSON.stringify(r)).toBeLessThan(movedAt + 1000);
        expect(s.answers[otherPod ?? '']).toBeGreaterThan(0);
        recordFigure(
          'layer2 address moved',
          movedAt - cutAt,
          'ms',
          `${first}'s link cut; until ${other} answered ARP for ${ip} (memberlist noticing ${first} gone)`,
        );
        recordFigure(
          'layer2 client outage',
          outageMs,
          'ms',
          `from the cut to the end of the last failed or late request (${s.failed} of ${s.total} failed, one sent every 20 ms)`,
        );
      } finally {
        await reconnectHost(lab().names, first);
      }
    }, 300_000);

    it('the node comes back: the cluster settles on one node answering ARP, and what the client saw while it did is counted', async () => {
      // The cut node never heard it lost the address: once back, it may answer ARP too until
      // memberlist merges and MetalLB elects one owner again; a connection whose packets switch nodes
      // meanwhile is reset.
      const list = await requestsDuring(`http://${ip}/hostname`, () =>
        eventually(
          'one node answering ARP, the same for 5 s',
          async () => {
            const a = await arpAnswers(ip);
            await new Promise((r) => setTimeout(r, 5000));
            return a.length === 1 && (await arpAnswers(ip)).join() === a.join();
          },
          (settled) => settled,
          { timeoutMs: 120_000 },
        ),
      );
      const s = summarize(list);
      recordFigure(
        'layer2 rejoin disturbed',
        s.disturbed.length,
        'requests',
        `of ${s.total} while the cut node came back and one owner was elected again (${s.failed} failed: ${JSON.stringify(s.errors)})`,
      );
      expect((await arpAnswers(ip)).length).toBe(1);
      nothingLost(
        summarize(await requestsDuring(`http://${ip}/hostname`, () => new Promise((r) => setTimeout(r, 3000)))),
      );
    }, 240_000);
  },
);
