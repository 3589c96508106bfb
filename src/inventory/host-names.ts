/**
 * Host names as Ansible's inventory reads them (ansible/parsing/utils/addresses.py and
 * ansible/plugins/inventory/__init__.py): `name:port`, `[ipv6]:port`, and ranges such as
 * `w[1:3]`, `db[01:10:2]` or `node-[a:c]` that stand for several hosts.
 */

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const V6 = `(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const V4 = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
const LABEL = `(?:[\\p{L}\\p{N}_]|${ALNUM_RANGE})(?:[\\p{L}\\p{N}_-]|${ALNUM_RANGE})*(?<![_-])`;

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;
const IPV4 = new RegExp(`^(?:${V4}\\.){3}${V4}$`, 'i');
const IPV6 = new RegExp(
  '^(?:' +
    [
      `(?:${V6}:){7}${V6}`,
      `(?:${V6}:){1,6}:`,
      `(?:${V6}:)(?::${V6}){1,6}`,
      `(?:${V6}:){2}(?::${V6}){1,5}`,
      `(?:${V6}:){3}(?::${V6}){1,4}`,
      `(?:${V6}:){4}(?::${V6}){1,3}`,
      `(?:${V6}:){5}(?::${V6}){1,2}`,
      `(?:${V6}:){6}(?::${V6})`,
      `:(?::${V6}){1,6}`,
      `${V6}?::`,
      `(?:0:){6}(?:${V6}\\.){3}${V6}`,
      `::(?:ffff:)?(?:${V6}\\.){3}${V6}`,
      `(?:0:){5}ffff:(?:${V6}\\.){3}${V6}`,
    ].join('|') +
    ')$',
  'i',
);
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'iu');

/** A host identifier (name, IPv4, IPv6, ranges allowed) with an optional port, or undefined. */
export function parseAddress(text: string): { host: string; port?: number } | undefined {
  let address = text;
  let port: number | undefined;
  for (const form of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = form.exec(address);
    if (m) {
      address = m[1] ?? '';
      port = Number(m[2]);
    }
  }
  if (![IPV4, IPV6, HOSTNAME].some((form) => form.test(address))) return undefined;
  return port === undefined ? { host: address } : { host: address, port };
}

/** Thrown for a range Ansible refuses (`[3:1]`, `[01:9]`, `[1]`); the caller says where. */
export class HostRangeError extends Error {}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `w[1:3]` as `w1 w2 w3`, `db[01:10:2]` zero-padded, `[a:c]` by letters; several ranges multiply. */
export function expandHostRange(name: string): string[] {
  const open = name.indexOf('[');
  if (open < 0) return [name];
  const close = name.indexOf(']', open);
  if (close < 0) throw new HostRangeError('a host range opens with [ and must close with ]');
  const head = name.slice(0, open);
  const tail = name.slice(close + 1);
  const bounds = name.slice(open + 1, close).split(':');
  if (bounds.length !== 2 && bounds.length !== 3)
    throw new HostRangeError('a host range is [begin:end] or [begin:end:step]');
  const [beginText = '', end = '', stepText = '1'] = bounds;
  const begin = beginText || '0';
  if (!end) throw new HostRangeError('a host range needs its end, as in [1:3]');
  const step = Number(stepText);
  if (!Number.isInteger(step) || step < 1)
    throw new HostRangeError('a host range step is a whole number of at least 1');
  const width = begin.startsWith('0') && begin.length > 1 ? begin.length : 0;
  if (width && width !== end.length)
    throw new HostRangeError('a zero-padded host range has begin and end of the same length, as in [01:10]');
  const fill = (n: number): string => (width ? String(n).padStart(width, '0') : String(n));
  let sequence: string[];
  const [a, b] = [LETTERS.indexOf(begin), LETTERS.indexOf(end)];
  if (begin.length === 1 && end.length === 1 && a >= 0 && b >= 0) {
    if (a > b) throw new HostRangeError('a host range goes from low to high');
    sequence = [...LETTERS.slice(a, b + 1)].filter((_, i) => i % step === 0);
  } else {
    if (!/^[0-9]+$/.test(begin) || !/^[0-9]+$/.test(end))
      throw new HostRangeError('a host range is numbers ([1:3], [01:10]) or single letters ([a:c])');
    const count = Math.floor((Number(end) - Number(begin)) / step) + 1;
    if (count < 1) throw new HostRangeError('a host range goes from low to high');
    if (count > MAX_RANGE_HOSTS)
      throw new HostRangeError(`a host range stands for at most ${MAX_RANGE_HOSTS} hosts; this one for ${count}`);
    sequence = Array.from({ length: count }, (_, i) => fill(Number(begin) + i * step));
  }
  const names = sequence.flatMap((part) => expandHostRange(`${head}${part}${tail}`));
  if (names.length > MAX_RANGE_HOSTS)
    throw new HostRangeError(`a host range stands for at most ${MAX_RANGE_HOSTS} hosts; this one for ${names.length}`);
  return names;
}

/** As many as one mapping's keys may be (MAX_KEYS): a typo such as [1:100000] is not 100,000 hosts. */
const MAX_RANGE_HOSTS = 10_000;
