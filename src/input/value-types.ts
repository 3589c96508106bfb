import type { JsonSchema } from './validators.ts';

const V4_OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `(${V4_OCTET}\\.){3}${V4_OCTET}`;
const H = '[0-9a-fA-F]{1,4}';
const IPV6 = [
  `(${H}:){7}${H}`,
  `(${H}:){1,7}:`,
  `(${H}:){1,6}:${H}`,
  `(${H}:){1,5}(:${H}){1,2}`,
  `(${H}:){1,4}(:${H}){1,3}`,
  `(${H}:){1,3}(:${H}){1,4}`,
  `(${H}:){1,2}(:${H}){1,5}`,
  `${H}:(:${H}){1,6}`,
  `:((:${H}){1,7}|:)`,
].join('|');
const IP = `(${IPV4}|${IPV6})`;
const CIDR = `(${IPV4}/(3[0-2]|[12]?\\d)|(${IPV6})/(12[0-8]|1[01]\\d|[1-9]?\\d))`;
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
// The last label is never a number: the system resolver reads `127.000.000.013`, `0177.0.0.14`,
// `2130706453` or `0x7f000001` as numeric addresses (inet_aton's octal, decimal and hex), so a
// mistyped address would reach another machine. Top-level domains are never numeric (RFC 3696).
const HOSTNAME = `(${LABEL}\\.)*(?!\\d+$)(?!0[xX][0-9a-fA-F]*$)${LABEL}`;

const HOST_PATTERN = `^(${IP}|${HOSTNAME})$`;
export const HOST_WHAT =
  'a host name or an IPv4/IPv6 address in its usual form (no leading zeros; a name is not all numbers)';

/**
 * The kinds of value that reach a config file or a command, each a whole-string pattern: a value
 * that does not match never reaches a template, so a newline or a space cannot add a line to
 * frr.conf or a rule to the ruleset. A role's variables.yaml names them as `format: NAME`; the
 * loader turns that into the pattern (patterns survive the validators' compiled cache, custom
 * formats would not), and an error names the kind, not the pattern.
 */
export const VALUE_TYPES: Record<string, { pattern: string; what: string }> = {
  ipv4: { pattern: `^${IPV4}$`, what: 'an IPv4 address (like 192.0.2.1, no leading zeros)' },
  ip: { pattern: `^${IP}$`, what: 'an IPv4 or IPv6 address' },
  cidr: { pattern: `^${CIDR}$`, what: 'a CIDR (like 10.42.0.0/16)' },
  'ip-or-cidr': { pattern: `^(${IP}|${CIDR})$`, what: 'an address or a CIDR' },
  'address-range': { pattern: `^(${CIDR}|${IP}-${IP})$`, what: 'a CIDR or a FIRST-LAST address range' },
  host: {
    pattern: HOST_PATTERN,
    what: HOST_WHAT,
  },
  'port-range': { pattern: '^\\d{1,5}(-\\d{1,5})?$', what: 'a port or a range like 30000-30100' },
  interface: {
    pattern: '^[A-Za-z0-9_.@-]{1,15}$',
    what: 'a network interface name (at most 15 letters, digits, or _ . @ -)',
  },
  // TCP MD5 keys are at most 80 bytes (Linux's TCP_MD5SIG_MAXKEYLEN); FRR's config takes one word.
  'bgp-password': { pattern: '^[!-~]{8,80}$', what: 'a password of 8 to 80 printable ASCII characters, no spaces' },
  token: { pattern: '^[!-~]{8,}$', what: 'a token of at least 8 printable ASCII characters, no spaces' },
  'k8s-name': {
    pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
    what: 'a Kubernetes name (lower-case letters, digits and -, at most 63)',
  },
  'no-control': { pattern: '^[^\\u0000-\\u001f\\u007f]*$', what: 'text without line breaks or control characters' },
};

const HOST = new RegExp(HOST_PATTERN, 'u');
/** Whether a value is a host name or an address as value type `host` accepts it. */
export const isHostAddress = (v: string): boolean => HOST.test(v);

const BY_PATTERN = new Map(Object.values(VALUE_TYPES).map((t) => [t.pattern, t.what]));

/** What a pattern stands for, if it is one of the value types. */
export const patternMeaning = (pattern: string): string | undefined => BY_PATTERN.get(pattern);

/** The schema with every `format: NAME` of a value type replaced by its pattern, at any depth. */
export function expandValueTypes(schema: unknown, where: string): unknown {
  if (Array.isArray(schema)) return schema.map((s) => expandValueTypes(s, where));
  if (!schema || typeof schema !== 'object') return schema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'format' && typeof v === 'string') {
      const type = VALUE_TYPES[v];
      if (!type) throw new Error(`${where}: unknown format "${v}"; known: ${Object.keys(VALUE_TYPES).join(', ')}`);
      out.pattern = type.pattern;
    } else if (k === 'default' || k === 'description') out[k] = v;
    else out[k] = expandValueTypes(v, where);
  }
  return out;
}
