import type { Change } from '../resources/types.ts';

export const MASK = '********';

/** A line of a multi-line secret shorter than this is common text ("}", "-----"), not masked alone. */
const SECRET_LINE_MIN = 8;

/**
 * Every form a secret takes where play shows it: as given; base64 (Kubernetes Secrets); escaped
 * in JSON (the --json report, kubectl's output) and in YAML double or single quotes (rendered
 * configs); URL-encoded; and each long-enough line of a multi-line secret, since diffs and
 * messages are cut into lines.
 */
function renderings(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const lines = secret.includes('\n')
    ? secret
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length >= SECRET_LINE_MIN)
    : [];
  return [
    secret,
    Buffer.from(secret).toString('base64'),
    json,
    secret.replace(/'/g, "''"),
    encodeURIComponent(secret),
    ...lines,
  ];
}

/** Keywords a secret follows in config files, for old content the run has no value for. */
const SECRET_KEYWORD = /\b(password|passwd|secret|token|key)\b\s*[:=]?\s*"?/i;

/** Where an old secret starts on a line: after a keyword, if one word of 8+ characters follows it. */
function oldSecretAt(line: string, keywords: readonly string[]): number | undefined {
  const candidates = [
    ...keywords.map((k) => ({ at: line.indexOf(k), length: k.length })),
    (() => {
      const m = SECRET_KEYWORD.exec(line);
      return { at: m?.index ?? -1, length: m?.[0].length ?? 0 };
    })(),
  ];
  for (const { at, length } of candidates) {
    if (at < 0) continue;
    const rest = line
      .slice(at + length)
      .replace(/"\s*$/, '')
      .trim();
    if (rest.length >= SECRET_LINE_MIN && !/\s/.test(rest)) return at + length;
  }
  return undefined;
}

/**
 * Masks secret values wherever they appear: diffs, messages, errors, the JSON report.
 * Masking by value (not by variable name) also catches a secret rendered into a file.
 */
export class Redactor {
  private secrets: string[] = [];

  constructor(secrets: Iterable<string>) {
    this.add(...secrets);
  }

  /** Secrets also come up during a run (a token read from a host). */
  add(...secrets: string[]): void {
    const forms = secrets.filter((s) => s.length > 0).flatMap(renderings);
    // Longest first, so a secret containing another is masked whole.
    this.secrets = [...new Set([...this.secrets, ...forms])].sort((a, b) => b.length - a.length);
  }

  text(s: string): string {
    let out = s;
    for (const secret of this.secrets) out = out.split(secret).join(MASK);
    return out;
  }

  /**
   * Masks a change. A file's old content may hold an old secret the run no longer knows (a
   * rotated or removed password). In a changed line of the old content, a single word after a
   * secret's keyword is masked: the keyword as it stands before a secret in the new content
   * (`password `, `token: "`), or one of the usual ones (password, secret, token, key) where the
   * new content has none (the line or the file was removed).
   */
  change(c: Change): Change {
    if (c.type === 'value' || c.before === null) return this.deep(c);
    const after = c.after ?? '';
    const learned = after
      .split('\n')
      .map((line) => this.secretPrefix(line))
      .map((prefix) => (prefix === undefined ? undefined : /(\S+\s*[:=]?\s*"?)$/.exec(prefix)?.[1]))
      .filter((k): k is string => k !== undefined && k.trim().length > 0);
    const afterLines = new Set(after.split('\n'));
    const before = c.before
      .split('\n')
      .map((line) => {
        // Unchanged lines mask alike; a line whose secret changed must still show as changed.
        if (afterLines.has(line)) return this.text(line);
        const at = oldSecretAt(line, learned);
        return at === undefined ? this.text(line) : `${this.text(line.slice(0, at))}${MASK} (old secret)`;
      })
      .join('\n');
    return { ...c, path: this.text(c.path), before, after: c.after === null ? null : this.text(c.after) };
  }

  /** The text before the first secret on a line, if the line holds one. */
  private secretPrefix(line: string): string | undefined {
    const at = Math.min(...this.secrets.map((s) => line.indexOf(s)).filter((i) => i >= 0));
    return Number.isFinite(at) ? line.slice(0, at) : undefined;
  }

  /** A deep copy with every string masked. */
  deep<T>(value: T): T {
    if (typeof value === 'string') return this.text(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.deep(v)) as T;
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v)])) as T;
    return value;
  }
}
