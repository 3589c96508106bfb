import { createRequire } from 'node:module';
import picomatch from 'picomatch';
import { PlayError } from '../errors.ts';
import { hostsOfGroup, type Inventory } from './model.ts';

/** A host pattern that selects nothing or does not parse; compile reports it at the pattern's line. */
export class PatternError extends PlayError {
  static override readonly kind = 'pattern';
}

/**
 * Ansible host patterns: `all`/`*`, host and group names, globs, `~regex`, `group[0]`, joined with `:` or `,`
 * as union, `:&` intersection and `:!` exclusion (applied in that order, as Ansible does).
 * A term matching nothing is an error naming what exists: a typo must not silently skip hosts.
 */
export function selectHosts(inv: Inventory, pattern: string, within?: readonly string[]): string[] {
  // `:` and `,` separate terms, except inside a subscript like `group[1:3]`.
  const terms = (pattern.match(/(?:[^:,[]|\[[^\]]*\])+/g) ?? []).map((t) => t.trim()).filter(Boolean);
  if (terms.length === 0) throw new PatternError(`empty host pattern "${pattern}"`);
  const union = new Set<string>();
  let intersect: Set<string> | undefined;
  const exclude = new Set<string>();
  for (const term of terms) {
    const op = term[0] === '&' || term[0] === '!' ? term[0] : '';
    const matched = matchTerm(inv, op ? term.slice(1) : term);
    if (op === '&') intersect = new Set(matched.filter((h) => !intersect || intersect.has(h)));
    else if (op === '!') matched.forEach((h) => exclude.add(h));
    else matched.forEach((h) => union.add(h));
  }
  const pool = within ?? [...inv.hosts.keys()];
  return pool.filter((h) => union.has(h) && (!intersect || intersect.has(h)) && !exclude.has(h));
}

function matchTerm(inv: Inventory, term: string): string[] {
  const sub = /^(.+)\[(-?\d+)(?::(-?\d*))?\]$/.exec(term);
  if (sub && !term.startsWith('~') && !inv.hosts.has(term))
    return subscript(matchTerm(inv, sub[1] ?? ''), Number(sub[2]), sub[3]);
  if (term === 'all' || term === '*') return [...inv.hosts.keys()];
  if (inv.groups.has(term)) return hostsOfGroup(inv, term);
  if (inv.hosts.has(term)) return [term];
  const re = term.startsWith('~') ? regex(term.slice(1)) : /[*?[]/.test(term) ? globToRegExp(term) : undefined;
  if (re) {
    const groups = [...inv.groups.keys()].filter((g) => re.test(g)).flatMap((g) => hostsOfGroup(inv, g));
    const hosts = [...inv.hosts.keys()].filter((h) => re.test(h));
    const found = [...new Set([...groups, ...hosts])];
    if (found.length > 0) return found;
  }
  const hosts = [...inv.hosts.keys()].join(', ') || '(none)';
  throw new PatternError(
    `unknown host or group "${term}"; hosts: ${hosts}; groups: ${[...inv.groups.keys()].sort().join(', ')}`,
  );
}

/** `group[0]` (first host), `group[-1]` (last), `group[1:3]` (a slice), as in Ansible. */
function subscript(hosts: string[], from: number, to: string | undefined): string[] {
  const at = (i: number): number => (i < 0 ? hosts.length + i : i);
  if (to === undefined) {
    const host = hosts[at(from)];
    return host === undefined ? [] : [host];
  }
  return hosts.slice(at(from), to === '' ? undefined : at(Number(to)) + 1);
}

/**
 * `~regex` with RE2's linear-time matching: JavaScript's backtracking engine took over a minute
 * (Ctrl-C unheard) on `~^(a+)+$X` against one long host name. RE2 has no backreferences or
 * lookarounds, as Python's `re` has; such a pattern is refused by name. Loaded only for `~`.
 */
function regex(source: string): { test(s: string): boolean } {
  const { RE2JS } = require('re2js') as typeof import('re2js');
  try {
    const re = RE2JS.compile(source);
    return { test: (s) => re.matcher(s).find() };
  } catch (e) {
    throw new PatternError(
      `invalid regular expression "~${source}": ${e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e)} (play matches with RE2: no backreferences or lookarounds)`,
    );
  }
}

/**
 * fnmatch's `*`, `?` and `[...]`, as Ansible matches host names; none of picomatch's braces,
 * extglobs or negation (a pattern's `!` is ours, see above).
 */
const require = createRequire(import.meta.url);

function globToRegExp(glob: string): RegExp {
  return picomatch.makeRe(glob, FNMATCH);
}

export const FNMATCH: picomatch.PicomatchOptions = {
  dot: true,
  nobrace: true,
  noextglob: true,
  nonegate: true,
  noglobstar: true,
};
