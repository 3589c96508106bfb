import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { clientGet, startRequestLoop, summarize, type Request, type Summary } from '../lab/traffic/traffic.ts';
import { sh } from '../lab/run.ts';
import { INTERNET_LINK } from '../lab/network.ts';
import { lab, onHostOk } from './lab-fixture.ts';
import { NFT } from '../../src/resources/nft-command.ts';

// The lab tests' side of the client (test/lab/traffic): requests from beyond the edge, what each
// host counted of them, and the figures the failover tests record.

/** What the client sees over `during`: every request of a loop to url running through it. */
export async function requestsDuring(url: string, during: () => Promise<unknown>): Promise<Request[]> {
  const loop = await startRequestLoop(lab().names, url);
  try {
    await during();
  } finally {
    // The last requests sent before the loop stops still get their answer or their timeout.
    await new Promise((r) => setTimeout(r, 500));
  }
  return loop.stop();
}

/** `count` requests from the client, one every 20 ms, each a new connection. */
export async function requests(url: string, count: number): Promise<Summary> {
  return summarize(await requestsDuring(url, () => new Promise((r) => setTimeout(r, count * 20))));
}

export const clientRequest = (url: string): Promise<string> => clientGet(lab().names, url);

/** The lab's client address: what a pod should see with externalTrafficPolicy Local. */
export const clientAddress = (): string => lab().state.client.address;

/**
 * Counts packets on a host, in a table of the test's own: to the Service's address as they arrive
 * (before kube-proxy rewrites them) and, on a router, forwarded to it and from it.
 */
export async function countPackets(host: string, ip: string): Promise<void> {
  await onHostOk(
    host,
    `${NFT} -f - <<'EOF'
table inet play_test_count
delete table inet play_test_count
table inet play_test_count {
  chain arriving {
    type filter hook prerouting priority -300;
    ip daddr ${ip} counter comment "to"
  }
${forwardChain(ip)}
}
EOF`,
  );
}

/** What a router forwards to the address and from it. */
const forwardChain = (ip: string): string => `  chain forwarded {
    type filter hook forward priority -300;
    ip daddr ${ip} counter comment "forwarded-to"
    ip saddr ${ip} counter comment "forwarded-from"
  }`;

/** `nft list` output's counters, by comment. */
const counters = (out: string): Record<string, number> =>
  Object.fromEntries(
    [...out.matchAll(/counter packets (\d+) bytes \d+ comment "([^"]+)"/g)].map((m) => [m[2] ?? '', Number(m[1])]),
  );

/** Packets counted since countPackets, by comment; the table is removed. */
export async function packetsCounted(host: string): Promise<Record<string, number>> {
  return counters(
    await onHostOk(host, `${NFT} list table inet play_test_count; ${NFT} delete table inet play_test_count`),
  );
}

/**
 * The controller namespace is the provider's router: what it routed between the internet and the
 * Service's address (not what its bridge, the hosts' segment, carries), counted until the returned
 * function reads (and removes) the counters.
 */
export async function countOnProvider(ip: string): Promise<() => Promise<Record<string, number>>> {
  const ns = lab().names.controller;
  const table = `table inet play_test_count {
  chain forwarded {
    type filter hook forward priority -300;
    iifname "${INTERNET_LINK}" ip daddr ${ip} counter comment "forwarded-to"
    oifname "${INTERNET_LINK}" ip saddr ${ip} counter comment "forwarded-from"
  }
}
`;
  await sh({ input: table })`ip netns exec ${ns} nft -f -`;
  return async () => {
    const out = (await sh`ip netns exec ${ns} nft list table inet play_test_count`).stdout;
    await sh`ip netns exec ${ns} nft delete table inet play_test_count`;
    return counters(out);
  };
}

/**
 * A figure a failover test measured: printed, and kept with the lab's state
 * (`.lab-test/figures.jsonl`) for bench/RESULTS.md.
 */
export function recordFigure(name: string, value: number, unit: string, how: string): void {
  const line = { name, value, unit, how, at: new Date().toISOString() };
  console.log(`figure: ${name} = ${value} ${unit} (${how})`);
  appendFileSync(join(lab().names.dir, 'figures.jsonl'), `${JSON.stringify(line)}\n`);
}

/** No request failed, and none took longer than TCP's one SYN retransmission. */
export function nothingLost(s: Summary): void {
  expect(s.errors, `failed requests: ${JSON.stringify(s.disturbed.slice(0, 5))}`).toEqual({});
  expect(s.total).toBeGreaterThan(50);
}
