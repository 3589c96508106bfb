/** IPv4/IPv6 addresses and ranges as numbers, for overlap and containment checks. */
export interface IpRange {
  family: 4 | 6;
  start: bigint;
  end: bigint;
  /** As the user wrote it. */
  text: string;
}

export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  const s = text.trim();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const parts = s.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (!s.includes(':') || !/^[0-9a-f:]+$/i.test(s)) return undefined;
  const [head = '', tail, extra] = s.split('::');
  if (extra !== undefined) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if ((tail === undefined && missing !== 0) || missing < 0) return undefined;
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

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

export const overlaps = (a: IpRange, b: IpRange): boolean => a.family === b.family && a.start <= b.end && b.start <= a.end;

export const contains = (r: IpRange, addr: { family: 4 | 6; value: bigint }): boolean => r.family === addr.family && r.start <= addr.value && addr.value <= r.end;

export function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return groups.join(':');
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
