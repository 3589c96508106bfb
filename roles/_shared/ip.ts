import ipaddr from 'ipaddr.js';

/** IPv4/IPv6 addresses and ranges as numbers, for overlap and containment checks. */
export interface IpRange {
  family: 4 | 6;
  start: bigint;
  end: bigint;
  /** As the user wrote it. */
  text: string;
}

/**
 * An address as a number. Only the dotted four-part form of IPv4 is one: ipaddr.js's own
 * `isValid` also takes `10.1` and octal parts, which MetalLB and FRR would read otherwise.
 */
export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  // Every host's checks look at every node's address: parsed once per run, not once per host.
  if (parsed.has(text)) return parsed.get(text);
  const found = parseOnce(text);
  if (parsed.size > 100_000) parsed.clear();
  parsed.set(text, found);
  return found;
}

const parsed = new Map<string, { family: 4 | 6; value: bigint } | undefined>();

function parseOnce(text: string): { family: 4 | 6; value: bigint } | undefined {
  const s = text.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return { family: 4, value: toNumber(ipaddr.IPv4.parse(s).toByteArray()) };
  if (s.includes(':') && !s.includes('%') && ipaddr.IPv6.isValid(s))
    return { family: 6, value: toNumber(ipaddr.IPv6.parse(s).toByteArray()) };
  return undefined;
}

const toNumber = (bytes: number[]): bigint => bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);

const bits = (family: 4 | 6): bigint => (family === 4 ? 32n : 128n);

/** A MetalLB pool entry: `CIDR` or `FIRST-LAST`. Undefined when it is neither. */
export function parseRange(text: string): IpRange | undefined {
  if (text.includes('/')) {
    const [addr = '', len = ''] = text.split('/');
    const a = parseAddress(addr);
    const prefix = Number(len);
    if (!a || !/^\d+$/.test(len) || BigInt(prefix) > bits(a.family)) return undefined;
    const host = bits(a.family) - BigInt(prefix);
    const start = (a.value >> host) << host;
    return { family: a.family, start, end: start + (1n << host) - 1n, text };
  }
  const [from = '', to, extra] = text.split('-');
  const a = parseAddress(from);
  const b = to === undefined ? a : parseAddress(to);
  if (!a || !b || extra !== undefined || a.family !== b.family || b.value < a.value) return undefined;
  return { family: a.family, start: a.value, end: b.value, text };
}

export const overlaps = (a: IpRange, b: IpRange): boolean =>
  a.family === b.family && a.start <= b.end && b.start <= a.end;

export const contains = (r: IpRange, addr: { family: 4 | 6; value: bigint }): boolean =>
  r.family === addr.family && r.start <= addr.value && addr.value <= r.end;

/** IPv6 compressed as RFC 5952 says (as FRR and kubectl print it). */
export function formatAddress(family: 4 | 6, value: bigint): string {
  const length = family === 4 ? 4 : 16;
  const bytes = Array.from({ length }, (_, i) => Number((value >> BigInt(8 * (length - 1 - i))) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** The fewest CIDR blocks covering exactly a range: what a prefix-list needs for `a-b` pools. */
export function rangeToCidrs(r: IpRange): string[] {
  const out: string[] = [];
  const width = bits(r.family);
  let start = r.start;
  while (start <= r.end) {
    let size = 0n;
    while (size < width && ((start >> size) & 1n) === 0n && start + (1n << (size + 1n)) - 1n <= r.end) size++;
    out.push(`${formatAddress(r.family, start)}/${width - size}`);
    start += 1n << size;
  }
  return out;
}

/**
 * The IPv4 blocks covering a pool's addresses (`CIDR` or `FIRST-LAST` entries, spaces allowed):
 * what the edge's prefix lists permit and announces upstream. IPv6 entries are left out.
 */
export function ipv4Cidrs(addresses: readonly string[]): string[] {
  return addresses
    .map((a) => parseRange(a.replace(/\s+/g, '')))
    .filter((r) => r?.family === 4)
    .flatMap((r) => (r ? rangeToCidrs(r) : []));
}
