import { createRequire } from 'node:module';
import picomatch from 'picomatch';
import { PlayError } from '../errors.ts';
import { parseAddress } from './host-names.ts';
import { hostsOfGroup, type Inventory } from './model.ts';

/** A host pattern that selects nothing or does not parse; compile reports it at the pattern's line. */
export class PatternError extends PlayError {
  static override readonly kind = 'pattern';
}

/**
 * Ansible host patterns, evaluated as Ansible's InventoryManager does: `all`/`*`, host and group
 * names, globs, `~regex` (matched from the start of the name), `group[0]`, `group[1:3]`, joined
 * with `,` (or `:`) as a union in the order written, then `&` intersections, then `!`
 * exclusions; a pattern of only `&`/`!` terms starts from `all`. Where Ansible would select
 * nothing (a typo, a subscript past the end) play refuses, naming what exists: a typo must not
 * silently skip hosts. `within` keeps its own order and only narrows (`--limit`).
 */
export function selectHosts(inv: Inventory, pattern: string | readonly string[], within?: readonly string[]): string[] {
  const terms = splitPattern(pattern);
  if (terms.length === 0) throw new PatternError(`empty host pattern "${String(pattern)}"`);
  const regular = terms.filter((t) => t[0] !== '&' && t[0] !== '!');
  const ordered = [
    ...(regular.length > 0 ? regular : ['all']),
    ...terms.filter((t) => t[0] === '&'),
    ...terms.filter((t) => t[0] === '!'),
  ];
  let hosts: string[] = [];
  for (const term of ordered) {
    // A plain host name is that host, even where a group has the same name (as in Ansible).
    if (inv.hosts.has(term)) {
      hosts.push(term);
      continue;
    }
    const matched = new Set(matchTerm(inv, term[0] === '&' || term[0] === '!' ? term.slice(1) : term));
    if (term[0] === '!') hosts = hosts.filter((h) => !matched.has(h));
    else if (term[0] === '&') hosts = hosts.filter((h) => matched.has(h));
    else hosts.push(...matched);
  }
  const selected = [...new Set(hosts)];
  if (!within) return selected;
  const chosen = new Set(selected);
  return within.filter((h) => chosen.has(h));
}

/**
 * Ansible's split_host_pattern: a list is each item's terms; with a comma, commas separate;
 * otherwise a whole host address (an IPv6 address, `w[1:3]`) is one term and `:` separates the rest.
 */
export function splitPattern(pattern: string | readonly string[]): string[] {
  if (typeof pattern !== 'string') return pattern.flatMap(splitPattern);
  const parts = pattern.includes(',')
    ? pattern.split(',')
    : parseAddress(pattern)
      ? [pattern]
      : (pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? []);
  return parts.map((t) => t.trim()).filter(Boolean);
}

/** `name[3]`, `name[-1]`, `name[1:3]`, `name[2:]` (Ansible's PATTERN_WITH_SUBSCRIPT). */
const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)[:-]([0-9]*))\]$/;

function matchTerm(inv: Inventory, term: string): string[] {
  const sub = term.startsWith('~') ? null : SUBSCRIPT.exec(term);
  if (sub) {
    const hosts = matchTerm(inv, sub[1] ?? '');
    const picked = subscript(hosts, sub);
    if (picked.length === 0)
      throw new PatternError(
        `"${term}" selects no host: ${sub[1]} has ${hosts.length} host${hosts.length === 1 ? '' : 's'} (${hosts.join(', ')}), counted from 0`,
      );
    return picked;
  }
  const found = enumerate(inv, term);
  if (found.length > 0) return found;
  const hosts = [...inv.hosts.keys()].join(', ') || '(none)';
  throw new PatternError(
    `unknown host or group "${term}"; hosts: ${hosts}; groups: ${[...inv.groups.keys()].sort().join(', ')}`,
  );
}

/**
 * Ansible's _enumerate_matches: the hosts of every group whose name matches, then, if no group
 * matched or the term is a regex or glob or holds a dot, the hosts whose name matches.
 */
function enumerate(inv: Inventory, term: string): string[] {
  const test = term.startsWith('~') ? regex(term.slice(1)).test : exact(term);
  const groups = [...inv.groups.keys()].filter(test);
  const results = groups.flatMap((g) => hostsOfGroup(inv, g));
  if (groups.length === 0 || term.startsWith('~') || /[.?*[]/.test(term))
    results.push(...[...inv.hosts.keys()].filter(test));
  return [...new Set(results)];
}

/** A name or an fnmatch glob, matched against the whole name. */
function exact(term: string): (name: string) => boolean {
  if (!/[*?[]/.test(term)) return (name) => name === term;
  const re = globToRegExp(term);
  return (name) => re.test(name);
}

/** Python's slicing as Ansible applies it: `[i]` one host, `[i:j]` i to j inclusive, `[i:]` to the end. */
function subscript(hosts: string[], m: RegExpExecArray): string[] {
  const [, , index, from, to] = m;
  if (index !== undefined) {
    const i = Number(index);
    const host = hosts[i < 0 ? hosts.length + i : i];
    return host === undefined ? [] : [host];
  }
  const start = Number(from);
  // Ansible reads `[2:0]` as `[2]` (an end of 0 is "no end" to its code).
  if (to === '0') return hosts[start] === undefined ? [] : [hosts[start] as string];
  return hosts.slice(start, to === '' ? undefined : Number(to) + 1);
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
    // Python's re.match, as Ansible uses it: anchored at the start of the name, not at its end.
    return { test: (s) => re.matcher(s).lookingAt() };
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
