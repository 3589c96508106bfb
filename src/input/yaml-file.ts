import { readFileSync } from 'node:fs';
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
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, customTags: [VAULT_TAG] });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { location: { file, line: pos.line, column: pos.col }, message: `invalid YAML: ${firstLine(e.message)}` };
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
  return { file, value: doc.toJS({ maxAliasCount: 1000 }), locate };
}

/** `!vault |` values stay sealed, as Ansible's JSON form, until the run's Vault opens them. */
const VAULT_TAG = { tag: '!vault', resolve: (sealed: string) => ({ [VAULT_MARK]: sealed }) };

/**
 * Parsing keeps every node's position, which made reading the roles' and the user's YAML a good
 * part of a rerun. Files are read as before, but a text parsed once is looked up (by its content)
 * as plain JSON; its positions are parsed again only if a problem must be located in it.
 */
const yamlCache = treeCache('yaml');

export function readYaml(file: string, cache: DerivedCache | undefined = yamlCache, vault: Vault = NO_VAULT): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw InputError.at({ file }, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  // A whole vaulted file: parsed from its plaintext, which is never cached; all of it is secret.
  if (isVaulted(text)) {
    const src = parseYaml(file, vault.open(text, { file }));
    vault.remember(src.value);
    return opened(src, vault);
  }
  if (!cache) return opened(parseYaml(file, text), vault);
  const key = DerivedCache.key('yaml', yamlVersion, text);
  const known = cache.readText(key, '.json');
  if (known !== undefined) return opened({ file, value: JSON.parse(known) as unknown, locate: lazyLocate(file, text) }, vault);
  const src = parseYaml(file, text);
  if (isJson(src.value)) cache.write(key, '.json', JSON.stringify(src.value));
  return opened(src, vault);
}

/** The source with its `!vault` values opened (the cache keeps them sealed). */
function opened(src: YamlSource, vault: Vault): YamlSource {
  return { ...src, value: vault.reveal(src.value, src.locate) };
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
