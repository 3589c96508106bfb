import { isUtf8 } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Document, Node } from 'yaml';
import { DerivedCache, isJson, treeCache } from './derived-cache.ts';
import { InputError, type InputProblem, type SourceLocation } from './errors.ts';
import { yamlLib, yamlVersion } from './lazy-yaml.ts';
import { isVaulted, NO_VAULT, VAULT_MARK, type Vault } from './vault.ts';
import { yaml11 } from './yaml11.ts';

/** A parsed YAML file that can still say on which line any value was written. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** Location of the value at `path` (keys and indexes), or of its nearest existing parent. */
  locate(path: readonly (string | number)[]): SourceLocation;
}

export function parseYaml(file: string, text: string): YamlSource {
  const { LineCounter, parseDocument, visit, isScalar } = yamlLib();
  const lines = new LineCounter();
  // `<<` merge keys as Ansible (YAML 1.1) reads them; without this they became a variable named `<<`.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    // The parser's own check compares every key with every other (195,000 keys ran for minutes);
    // duplicates are found below with a set per mapping.
    uniqueKeys: false,
    customTags: [VAULT_TAG, UNSAFE_TAG],
    merge: true,
  });
  // An unknown tag (`!include`) would otherwise be dropped and its value read as plain text.
  const unknownTags = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED');
  // play does not template values: Jinja2 in one would reach a config file as written.
  const templated: number[] = [];
  const duplicates: number[] = [];
  const crowded: number[] = [];
  const ambiguous: [number, string][] = [];
  visit(doc, {
    Map: (_key, node) => {
      if (node.items.length > MAX_KEYS) crowded.push(node.range?.[0] ?? 0);
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        // `<<` merge keys may repeat; other non-scalar keys are compared by identity, as before.
        if (k === '<<') continue;
        if (seen.has(k)) duplicates.push((pair.key as { range?: [number] } | null)?.range?.[0] ?? 0);
        seen.add(k);
      }
    },
    Scalar: (key, node) => {
      if (isScalar(node) && typeof node.value === 'string' && JINJA.test(node.value) && node.tag !== '!unsafe')
        templated.push(node.range?.[0] ?? 0);
      // A plain value means what it means to Ansible (YAML 1.1), or is refused where that is a trap.
      if (key !== 'key' && node.type === 'PLAIN' && node.tag === undefined && node.source !== undefined) {
        const ansible = yaml11(node.source);
        if ('refused' in ansible) ambiguous.push([node.range?.[0] ?? 0, ansible.refused]);
        else if (!Object.is(ansible.value, node.value)) node.value = ansible.value;
      }
    },
  });
  if (
    doc.errors.length > 0 ||
    unknownTags.length > 0 ||
    templated.length > 0 ||
    duplicates.length > 0 ||
    crowded.length > 0 ||
    ambiguous.length > 0
  ) {
    const at = (offset: number, message: string): InputProblem => {
      const pos = lines.linePos(offset);
      return { location: { file, line: pos.line, column: pos.col }, message };
    };
    throw new InputError([
      ...doc.errors.map((e) => at(e.pos[0], `invalid YAML: ${withoutSource(e.message)}`)),
      ...unknownTags.map((w) =>
        at(
          w.pos[0],
          `unknown YAML tag "${/^!\S{0,40}/.exec(text.slice(w.pos[0]))?.[0] ?? 'this tag'}": play reads Ansible's !vault and !unsafe, and YAML's own (!!str, ...); nothing is included or evaluated`,
        ),
      ),
      ...crowded.map((offset) => at(offset, `more than ${MAX_KEYS} keys in one mapping: not an input play reads`)),
      ...duplicates.slice(0, 20).map((offset) => at(offset, 'invalid YAML: Map keys must be unique')),
      ...templated.map((offset) => at(offset, NOT_TEMPLATED)),
      ...ambiguous.slice(0, 20).map(([offset, message]) => at(offset, message)),
    ]);
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
    throw InputError.at({ file }, `invalid YAML: ${withoutSource(e instanceof Error ? e.message : String(e))}`);
  }
  return { file, value, locate };
}

/**
 * Keys in one mapping: every role looks at every host's variables, so 195,000 of them made a
 * check run for minutes. Real inventories have tens.
 */
const MAX_KEYS = 10_000;

export const JINJA = /\{\{.*\}\}|\{%.*%\}/s;
export const NOT_TEMPLATED =
  'a Jinja2 expression ({{ }} or {% %}): play does not template values, so it would reach the host as written; write the value itself, or tag it !unsafe to mean the braces';

/** Ansible's `!unsafe` keeps a value from templating: play never templates values, so it is the value. */
const UNSAFE_TAG = { tag: '!unsafe', resolve: (value: string) => value };

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
  const key = DerivedCache.key('yaml', yamlVersion, 'yaml 1.1 scalars', text);
  const known = cache.readText(key, '.json');
  if (known !== undefined)
    return opened({ file, value: JSON.parse(known) as unknown, locate: lazyLocate(file, text) }, vault);
  const src = parseYaml(file, text);
  // A text holding a secret is marked instead, so that later runs do not even keep its parse back.
  if (isJson(src.value) && cache.readText(key, HOLDS_SECRETS) === undefined)
    cache.writeJudged(key, '.json', JSON.stringify(src.value), { ext: HOLDS_SECRETS, text: '' });
  return opened(src, vault);
}

/** Marks a text whose parse is never cached: it holds a secret (no part of which the mark keeps). */
const HOLDS_SECRETS = '.holds-secrets';

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
    bytes = readRegularFile(file, MAX_INPUT_BYTES);
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

/**
 * A regular file's bytes, at most `max`: what is read is counted, not what `stat` says, and
 * nothing else is opened for reading. A link to /dev/zero grew memory by 50 MB/s; a FIFO blocked
 * the run forever (O_NONBLOCK opens one at once, and fstat then says what it is).
 */
function readRegularFile(file: string, max: number): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const kind = fstatSync(fd);
    if (!kind.isFile())
      throw InputError.at(
        { file },
        `not a regular file (${kind.isFIFO() ? 'a FIFO' : kind.isCharacterDevice() || kind.isBlockDevice() ? 'a device' : kind.isSocket() ? 'a socket' : 'a directory'}): play reads only regular files`,
      );
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(1 << 20, max + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > max) throw InputError.at({ file }, `larger than ${max / 1024 / 1024} MiB: not an input play reads`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
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

/**
 * The parser's complaint without the text it quotes (`Not a YAML token: …`, `Block scalar header
 * includes extra characters: …`): the line it stumbled on may hold a secret. The location says where.
 */
function withoutSource(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/:\s.*$/, '').replace(/ (character|indicator character) \S+$/, ' $1');
}
