import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * What play derives from its inputs and would otherwise derive again on every run: parsed YAML,
 * Ajv's validators, compiled templates. Each entry is named by a hash of everything it was
 * derived from, so an entry is either right or never looked up.
 */
export class DerivedCache {
  private readonly require = createRequire(import.meta.url);
  /** Entries derived before the run's secrets are known: written, or not, once they are. */
  private pending: PendingEntry[] = [];
  private settled = false;

  constructor(readonly dir: string) {
    caches.add(this);
  }

  /** The entry's name: a hash of what it is derived from (versions and options included). */
  static key(...derivedFrom: unknown[]): string {
    return createHash('sha256').update(JSON.stringify(derivedFrom)).digest('hex').slice(0, 24);
  }

  /** A cached text (`.json`), or undefined. */
  readText(key: string, ext: string): string | undefined {
    return this.entry(this.path(key, ext), (file) => readFileSync(file, 'utf8'));
  }

  /** A cached CommonJS module's exports (`.cjs`: generated code), or undefined. */
  load<T>(key: string): T | undefined {
    return this.entry(this.path(key, '.cjs'), (file) => this.require(file) as T);
  }

  /** An entry another user wrote (and so cannot be read here) is derived again, like a missing one. */
  private entry<T>(file: string, read: (file: string) => T): T | undefined {
    if (!existsSync(file)) return undefined;
    try {
      return read(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EACCES') return undefined;
      throw e;
    }
  }

  /** Where an entry is, or would be. */
  path(key: string, ext: string): string {
    return `${this.dir}/${key}${ext}`;
  }

  /**
   * Writes an entry aside, then renames it into place: a run started meanwhile never reads half a
   * file. Readable by its owner only: parsed inventories hold the secrets their files hold.
   */
  store(key: string, ext: string, text: string): void {
    const file = this.path(key, ext);
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  }

  /** Removes an entry, if there is one. */
  remove(key: string, ext: string): void {
    rmSync(this.path(key, ext), { force: true });
  }

  /**
   * As `store`, for an entry a run can do without: one that cannot be written only costs the next
   * run the work. For what is derived from play's and the roles' own files (schemas, templates).
   */
  write(key: string, ext: string, text: string): void {
    try {
      this.store(key, ext, text);
    } catch {
      // Not written: the next run derives it again.
    }
  }

  /**
   * As `write`, for what is derived from the user's values, which may be secrets: nothing derived
   * from a secret reaches the disk. Until the run's secrets are known (`settle`) the entry waits in
   * memory; an entry holding one is never written (`instead`, which keeps no part of it, is
   * written in its place).
   */
  writeJudged(key: string, ext: string, text: string, instead?: { ext: string; text: string }): void {
    const entry = { key, ext, text, instead };
    if (this.settled) this.commit(entry);
    else this.pending.push(entry);
  }

  /** The run's secrets are known: entries kept back are written, those holding a secret are not. */
  settle(secrets: readonly string[]): void {
    keepOutOfCaches(...secrets);
    this.settled = true;
    for (const entry of this.pending.splice(0)) this.commit(entry);
  }

  /** The run's input was refused: its secrets are never judged, so nothing it derived is written. */
  drop(): void {
    this.pending = [];
  }

  private commit(entry: PendingEntry): void {
    const chosen = holdsSecret(entry.text) ? entry.instead : entry;
    if (chosen) this.write(entry.key, chosen.ext, chosen.text);
  }
}

interface PendingEntry {
  key: string;
  ext: string;
  text: string;
  instead?: { ext: string; text: string };
}

const caches = new Set<DerivedCache>();

/** Every spelling of a secret an entry could hold it in: as given, JSON-escaped, YAML single-quoted. */
const secretForms = new Set<string>();

/** A secret no cache entry may hold: the run's own (from the schemas) and those learnt from hosts. */
export function keepOutOfCaches(...secrets: readonly string[]): void {
  for (const s of secrets) {
    if (s.length === 0) continue;
    for (const form of [s, JSON.stringify(s).slice(1, -1), s.replaceAll("'", "''")]) secretForms.add(form);
  }
}

function holdsSecret(text: string): boolean {
  for (const form of secretForms) if (text.includes(form)) return true;
  return false;
}

/** Settles every cache of the run (see `DerivedCache.settle`). */
export function settleDerivedWrites(secrets: readonly string[]): void {
  for (const c of caches) c.settle(secrets);
}

/** Drops what every cache of a refused run kept back. */
export function dropDerivedWrites(): void {
  for (const c of caches) c.drop();
}

/**
 * The cache of one kind of entry, kept in the compiled tree (dist/KEY/KIND/) so it goes when the
 * tree is pruned. Run from the sources (tests, tsx), nothing is cached.
 */
export function treeCache(kind: string): DerivedCache | undefined {
  const treeRoot = fileURLToPath(new URL('../../', import.meta.url));
  return existsSync(`${treeRoot}.complete`) ? new DerivedCache(`${treeRoot}${kind}`) : undefined;
}

/** True if JSON gives back exactly this value: no NaN or infinities, no shared or cyclic references (YAML anchors). */
export function isJson(value: unknown, seen = new Set<object>()): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || seen.has(value)) return false;
  seen.add(value);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (Array.isArray(value)) return value.every((v) => isJson(v, seen));
  return proto === Object.prototype && Object.values(value).every((v) => isJson(v, seen));
}
