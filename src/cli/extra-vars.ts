import { resolve } from 'node:path';
import { InputError } from '../input/errors.ts';
import { isVaulted, NO_VAULT, type Vault } from '../input/vault.ts';
import { JINJA, NOT_TEMPLATED, parseYaml, readText } from '../input/yaml-file.ts';
import { isPlainObject, type VarLayer } from '../inventory/variables.ts';

/**
 * `-e` as Ansible takes it: `k=v k2=v2` (strings), a JSON/YAML mapping, or `@file`.
 * Each `-e` is one layer; later ones win.
 */
export function extraVarsLayer(arg: string, index: number, cwd: string, vault: Vault = NO_VAULT): VarLayer {
  if (arg.startsWith('@')) {
    const file = resolve(cwd, arg.slice(1));
    const text = readText(file);
    return mapping(file, isVaulted(text) ? vault.open(text, { file }) : text, vault, isVaulted(text));
  }
  const trimmed = arg.trim();
  if (trimmed.startsWith('{') || trimmed.includes('\n')) return mapping(`-e #${index + 1}`, arg, vault, false);
  const values: Record<string, unknown> = {};
  for (const pair of splitPairs(arg)) {
    const at = pair.indexOf('=');
    // Never echo the text: it may be a password typed where its name should have been.
    if (at <= 0)
      throw InputError.at(
        { file: `-e #${index + 1}` },
        `expected key=value, a JSON/YAML mapping or @file; word ${splitPairs(arg).indexOf(pair) + 1} has no "="`,
      );
    if (JINJA.test(pair.slice(at + 1)))
      throw InputError.at({ file: `-e #${index + 1}` }, NOT_TEMPLATED, pair.slice(0, at));
    values[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { label: `-e #${index + 1}`, values, locate: () => ({ file: `-e #${index + 1}` }) };
}

function mapping(label: string, text: string, vault: Vault, wholeFileVaulted: boolean): VarLayer {
  const src = parseYaml(label, text);
  if (wholeFileVaulted) vault.remember(src.value);
  const value = vault.reveal(src.value, src.locate);
  if (!isPlainObject(value)) throw InputError.at({ file: label }, 'expected a mapping of variable names to values');
  return { label, values: value, locate: (p) => src.locate(p) };
}

/** Splits on spaces outside quotes: `a=1 b="x y"`. */
function splitPairs(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g))
    out.push(m[0].replace(/(["'])(.*)\1$/, '$2').replace(/=(["'])(.*)\1$/, '=$2'));
  return out;
}
