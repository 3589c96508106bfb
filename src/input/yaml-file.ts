import { isUtf8 } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';
import type { Document, Node } from 'yaml';
import { DerivedCache, isJson, treeCache } from './derived-cache.ts';
import { InputError, type SourceLocation } from './errors.ts';
import { yamlLib, yamlVersion } from './lazy-yaml.ts';
import { isVaulted, NO_VAULT, VAULT_MARK, type Vault } from './vault.ts';

/** A parsed YAML file that can still say on which line any value was written. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** Location of the value at `path` (keys and indexes), or of its nearest existing parent. */
  locate(path: readonly (string | number)[]): SourceLocation;
}

export function parseYaml(file: string, text: string): YamlSource {
  const { LineCounter, parseDocument } = yamlLib();
  const lines = new LineCounter();
  // `<<` merge keys as Ansible (YAML 1.1) reads them; without this they became a variable named `<<`.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    customTags: [VAULT_TAG],
    merge: true,
  });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return {
          location: { file, line: pos.line, column: pos.col },
          message: `invalid YAML: ${firstLine(e.message)}`,
        };
      }),
    );
  }
  const locate = (path: readonly (string | number)[]): SourceLocation => {
    const node = nearestNode(doc, path);
    const offset = node?.range?.[0];
    if (offset === undefined) return { file };
    const pos = lines.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // An alias bomb (aliases of aliases, a billion laughs) stops here, not in memory.
    throw InputError.at({ file }, `invalid YAML: ${firstLine(e instanceof Error ? e.message : String(e))}`);
  }
  return { file, value, locate };
}

/** `!vault |` values stay sealed, as Ansible's JSON form, until the run's Vault opens them. */
const VAULT_TAG = { tag: '!vault', resolve: (sealed: string) => ({ [VAULT_MARK]: sealed }) };

/**
 * Parsing keeps every node's position, which made reading the roles' and the user's YAML a good
 * part of a rerun. Files are read as before, but a text parsed once is looked up (by its content)
 * as plain JSON; its positions are parsed again only if a problem must be located in it.
 */
const yamlCache = treeCache('yaml');

export function readYaml(
  file: string,
  cache: DerivedCache | undefined = yamlCache,
  vault: Vault = NO_VAULT,
): YamlSource {
  const text = readText(file);
  // A whole vaulted file: parsed from its plaintext, which is never cached; all of it is secret.
  if (isVaulted(text)) {
    const src = parseYaml(file, vault.open(text, { file }));
    vault.remember(src.value);
    return opened(src, vault);
  }
  if (!cache) return opened(parseYaml(file, text), vault);
  const key = DerivedCache.key('yaml', yamlVersion, text);
  cachedThisRun.set(key, text);
  const known = cache.readText(key, '.json');
  if (known !== undefined)
    return opened({ file, value: JSON.parse(known) as unknown, locate: lazyLocate(file, text) }, vault);
  const src = parseYaml(file, text);
  if (isJson(src.value) && cache.readText(key, HOLDS_SECRETS) === undefined) {
    cache.write(key, '.json', JSON.stringify(src.value));
    writtenThisRun.add(key);
  }
  return opened(src, vault);
}

/** Cache entries this run wrote: not yet judged for secrets until the run's input is accepted. */
const writtenThisRun = new Set<string>();

/** Texts parsed through the cache this run, by cache key. */
const cachedThisRun = new Map<string, string>();

/** Marks a text whose parse is never cached: it holds a secret (no part of which the mark keeps). */
const HOLDS_SECRETS = '.holds-secrets';

/**
 * Secrets are known only once the roles' schemas have been applied. A file read this run that
 * holds one (a BGP password in group_vars) loses its cache entry and is marked so that its parse
 * is not cached again: the cache never keeps a secret in clear.
 */
export function uncacheFilesHolding(secrets: readonly string[], cache: DerivedCache | undefined = yamlCache): void {
  if (!cache) return;
  const forms = secrets.filter((s) => s.length > 0).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  for (const [key, text] of cachedThisRun) {
    if (!forms.some((f) => text.includes(f)) || cache.readText(key, HOLDS_SECRETS) !== undefined) continue;
    cache.remove(key, '.json');
    cache.write(key, HOLDS_SECRETS, '');
  }
  writtenThisRun.clear();
}

/**
 * A run whose input is refused never learns which values are secrets, so the entries it wrote
 * are removed again: a refused run leaves no parse in the cache that was not judged.
 */
export function uncacheUnjudged(cache: DerivedCache | undefined = yamlCache): void {
  if (!cache) return;
  for (const key of writtenThisRun) cache.remove(key, '.json');
  writtenThisRun.clear();
}

/** The source with its `!vault` values opened (the cache keeps them sealed). */
function opened(src: YamlSource, vault: Vault): YamlSource {
  return { ...src, value: vault.reveal(src.value, src.locate) };
}

/** Inputs are small: a larger file is a mistake (a 60 MB group_vars took 38 s and 3.3 GB to parse). */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** A file's text: UTF-8, no NUL byte, at most MAX_INPUT_BYTES; anything else is refused at the file. */
export function readText(file: string): string {
  let bytes: Buffer;
  try {
    if (statSync(file).size > MAX_INPUT_BYTES)
      throw InputError.at({ file }, `larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB: not an input play reads`);
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw InputError.at(
      { file },
      `cannot read: ${code === 'ELOOP' ? 'a symbolic link loop' : code === 'ENOENT' ? 'it does not exist (a dangling symbolic link?)' : (code ?? String(e))}`,
    );
  }
  if (!isUtf8(bytes)) throw InputError.at({ file }, 'not UTF-8 text');
  const text = bytes.toString('utf8');
  const nul = text.indexOf('\0');
  if (nul >= 0)
    throw InputError.at({ file, line: text.slice(0, nul).split('\n').length }, 'holds a NUL byte: not a text file');
  return text;
}

function lazyLocate(file: string, text: string): YamlSource['locate'] {
  let parsed: YamlSource | undefined;
  return (path) => (parsed ??= parseYaml(file, text)).locate(path);
}

function nearestNode(doc: Document, path: readonly (string | number)[]): Node | undefined {
  const { isMap, isSeq } = yamlLib();
  let node: unknown = doc.contents;
  for (const [i, key] of path.entries()) {
    if (!isMap(node) && !isSeq(node)) break;
    // A mapping entry is reported at its key: that is the line the user looks for.
    const pair = isMap(node) ? node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key) : undefined;
    if (pair && i === path.length - 1) return pair.key as Node;
    const next: unknown = node.get(key, true);
    if (next === undefined) return (pair?.key as Node | undefined) ?? (node as Node);
    node = next;
  }
  return node as Node | undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
