import { InputError, type InputProblem } from '../input/errors.ts';
import { JINJA, NOT_TEMPLATED } from '../input/yaml-file.ts';
import { pythonLiteral } from './python-literal.ts';

/**
 * Ansible's INI inventory (ansible/plugins/inventory/ini.py), read into what it declares, in the
 * order Ansible applies it: `[group]` host lines with `key=value` variables, `[group:vars]`,
 * `[group:children]`, hosts before any section in `ungrouped`, `#` and `;` comments.
 */
export type IniEntry =
  | { kind: 'group'; name: string; line: number }
  | { kind: 'child'; parent: string; child: string; line: number }
  | { kind: 'host'; group: string; key: string; vars: Record<string, unknown>; line: number }
  | { kind: 'var'; group: string; name: string; value: unknown; line: number };

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

export function parseIniInventory(file: string, text: string): IniEntry[] {
  const entries: IniEntry[] = [];
  const problems: InputProblem[] = [];
  const groups = new Set(['all', 'ungrouped']);
  // Groups named under [x:children] or [x:vars] before their own section, as Ansible keeps them.
  const pending = new Map<string, { line: number; state: string; parents: string[] }>();
  let group = 'ungrouped';
  let state = 'hosts';
  const fail = (line: number, message: string): void => void problems.push({ location: { file, line }, message });
  const value = (line: number, raw: string): unknown => {
    const v = pythonLiteral(raw);
    if (typeof v === 'string' && JINJA.test(v)) fail(line, NOT_TEMPLATED);
    return v;
  };
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const text = raw.trim();
    if (!text || text.startsWith('#') || text.startsWith(';')) return;
    const section = SECTION.exec(text);
    if (section) {
      group = section[1] ?? '';
      state = section[2] ?? 'hosts';
      if (!['hosts', 'children', 'vars'].includes(state))
        return fail(line, `section [${group}:${state}]: expected [NAME], [NAME:vars] or [NAME:children]`);
      if (!groups.has(group)) {
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line, state, parents: [] });
        groups.add(group);
        entries.push({ kind: 'group', name: group, line });
      }
      const waiting = pending.get(group);
      if (waiting && state !== 'vars') {
        if (waiting.state === 'children')
          waiting.parents.forEach((parent) =>
            entries.push({ kind: 'child', parent, child: group, line: waiting.line }),
          );
        pending.delete(group);
      }
      return;
    }
    if (text.startsWith('[') && text.endsWith(']'))
      return fail(line, 'invalid section: a section is [NAME], [NAME:vars] or [NAME:children], without spaces');
    if (state === 'hosts') {
      let tokens: string[];
      try {
        tokens = shlexSplit(text);
      } catch (e) {
        return fail(line, `host line: ${e instanceof Error ? e.message : String(e)}`);
      }
      const [key = '', ...assignments] = tokens;
      if (key.endsWith(':')) return fail(line, `host "${key}": a host name ends with ":" only before a port`);
      const vars: Record<string, unknown> = {};
      for (const a of assignments) {
        const eq = a.indexOf('=');
        // Never the text itself: it may be a secret written without its name.
        if (eq < 0) return fail(line, `host "${key}": expected key=value variables after the host name`);
        vars[a.slice(0, eq)] = value(line, a.slice(eq + 1));
      }
      entries.push({ kind: 'host', group, key, vars, line });
    } else if (state === 'vars') {
      const eq = text.indexOf('=');
      if (eq < 0) return fail(line, `[${group}:vars]: expected key=value`);
      entries.push({
        kind: 'var',
        group,
        name: text.slice(0, eq).trim(),
        value: value(line, text.slice(eq + 1).trim()),
        line,
      });
    } else {
      const child = GROUP_NAME.exec(text)?.[1];
      if (!child) return fail(line, `[${group}:children]: expected a group name`);
      if (groups.has(child)) entries.push({ kind: 'child', parent: group, child, line });
      else {
        const waiting = pending.get(child) ?? { line, state, parents: [] };
        waiting.parents.push(group);
        pending.set(child, waiting);
      }
    }
    return undefined;
  });
  for (const [name, p] of pending)
    fail(
      p.line,
      p.state === 'vars'
        ? `[${name}:vars] is for a group no section defines: add [${name}] (with its hosts) or [${name}:children]`
        : `[${p.parents.at(-1) ?? ''}:children] names "${name}", a group no section defines: add [${name}]`,
    );
  if (problems.length > 0) throw new InputError(problems);
  return entries;
}

/** Python's shlex.split(line, comments=True): words, quotes, backslashes, `#` comments. */
export function shlexSplit(line: string): string[] {
  const tokens: string[] = [];
  let token: string | undefined;
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (token !== undefined) tokens.push(token);
      token = undefined;
      i++;
    } else if (c === '#') {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('no closing quotation');
      token = (token ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let out = '';
      let j = i + 1;
      for (;;) {
        if (j >= line.length) throw new Error('no closing quotation');
        const d = line[j] as string;
        if (d === '"') break;
        if (d === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) {
          out += line[j + 1];
          j += 2;
          continue;
        }
        out += d;
        j++;
      }
      token = (token ?? '') + out;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('no escaped character');
      token = (token ?? '') + line[i + 1];
      i += 2;
    } else {
      token = (token ?? '') + c;
      i++;
    }
  }
  if (token !== undefined) tokens.push(token);
  return tokens;
}
