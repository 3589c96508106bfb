/**
 * A value in an INI inventory, as Ansible's ini plugin reads it: Python's `ast.literal_eval`, and
 * the text as written where that fails. So `port=22` is a number, `name="22"` (in a vars
 * section) a string, `list=[1, 'a']` a list, `flag=True` a boolean and `flag=yes` the text "yes".
 * Complex numbers, sets and bytes are left as text.
 */
export function pythonLiteral(text: string): unknown {
  try {
    const reader = new Reader(text);
    const value = reader.expression();
    reader.space();
    if (!reader.done()) return text;
    return value;
  } catch (e) {
    if (e instanceof NotLiteral) return text;
    throw e;
  }
}

class NotLiteral extends Error {}

const NUMBER =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][-+]?[0-9](?:_?[0-9])*)?)/;

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at >= this.text.length;
  }

  space(): void {
    while (/[ \t]/.test(this.text[this.at] ?? '')) this.at++;
  }

  expression(): unknown {
    this.space();
    const c = this.text[this.at];
    if (c === '[') return this.sequence(']');
    if (c === '(') return this.sequence(')', true);
    if (c === '{') return this.mapping();
    if (c === '"' || c === "'") return this.strings();
    if (c === '-' || c === '+') {
      this.at++;
      const n = this.expression();
      if (typeof n !== 'number') throw new NotLiteral();
      return c === '-' ? -n : n;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.at))?.[0];
    // u'x' is 'x'; r'\n' keeps its backslash; b'x' is bytes, which no variable holds: text.
    const prefixed = word && /^[uUrR]$/.test(word) && /['"]/.test(this.text[this.at + 1] ?? '');
    if (prefixed) {
      this.at++;
      return this.strings(/[rR]/.test(word));
    }
    if (word) {
      this.at += word.length;
      if (word === 'True') return true;
      if (word === 'False') return false;
      if (word === 'None') return null;
      throw new NotLiteral();
    }
    const number = NUMBER.exec(this.text.slice(this.at))?.[0];
    if (!number) throw new NotLiteral();
    this.at += number.length;
    if (/^[jJ]/.test(this.text.slice(this.at))) throw new NotLiteral();
    return toNumber(number);
  }

  private sequence(close: string, tuple = false): unknown {
    this.at++;
    const items: unknown[] = [];
    let comma = false;
    for (;;) {
      this.space();
      if (this.text[this.at] === close) {
        this.at++;
        // `(1)` is the number 1; `(1,)` a tuple of one.
        return tuple && items.length === 1 && !comma ? items[0] : items;
      }
      items.push(this.expression());
      this.space();
      comma = this.text[this.at] === ',';
      if (comma) this.at++;
      else if (this.text[this.at] !== close) throw new NotLiteral();
    }
  }

  private mapping(): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.space();
      if (this.text[this.at] === '}') {
        this.at++;
        return out;
      }
      const key = this.expression();
      this.space();
      // `{1, 2}` is a set: not a value a variable can hold here, so the text stays.
      if (this.text[this.at] !== ':') throw new NotLiteral();
      this.at++;
      if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') throw new NotLiteral();
      out[String(key)] = this.expression();
      this.space();
      const c = this.text[this.at];
      if (c === ',') this.at++;
      else if (c !== '}') throw new NotLiteral();
    }
  }

  /** Adjacent literals join, as in Python: `'a' "b"` is "ab". Prefixed ones (b'', f'') are not literals here. */
  private strings(raw = false): string {
    let out = '';
    do {
      out += this.string(raw);
      this.space();
    } while (this.text[this.at] === '"' || this.text[this.at] === "'");
    return out;
  }

  private string(raw = false): string {
    const quote = this.text[this.at] as string;
    const triple = this.text.startsWith(quote.repeat(3), this.at);
    const end = triple ? quote.repeat(3) : quote;
    this.at += end.length;
    let out = '';
    for (;;) {
      if (this.done()) throw new NotLiteral();
      if (this.text.startsWith(end, this.at)) {
        this.at += end.length;
        return out;
      }
      const c = this.text[this.at] as string;
      if (c === '\\' && raw) {
        // A raw string keeps the backslash, and it still escapes the quote that follows.
        out += c + (this.text[this.at + 1] ?? '');
        this.at += 2;
        continue;
      }
      if (c === '\\') {
        const next = this.text[this.at + 1] ?? '';
        const simple: Record<string, string> = {
          n: '\n',
          t: '\t',
          r: '\r',
          '\\': '\\',
          "'": "'",
          '"': '"',
          '0': '\0',
          a: '\x07',
          b: '\b',
          f: '\f',
          v: '\v',
        };
        if (next in simple) {
          out += simple[next];
          this.at += 2;
          continue;
        }
        const hex = /^x([0-9a-fA-F]{2})|^u([0-9a-fA-F]{4})/.exec(this.text.slice(this.at + 1));
        if (hex) {
          out += String.fromCharCode(parseInt(hex[1] ?? hex[2] ?? '0', 16));
          this.at += 1 + hex[0].length;
          continue;
        }
        out += c;
        this.at++;
        continue;
      }
      if (!triple && c === '\n') throw new NotLiteral();
      out += c;
      this.at++;
    }
  }
}

function toNumber(text: string): number {
  const t = text.replace(/_/g, '');
  if (/^0[xX]/.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[oO]/.test(t)) return parseInt(t.slice(2), 8);
  if (/^0[bB]/.test(t)) return parseInt(t.slice(2), 2);
  // Python 3 refuses a decimal integer with a leading 0 (`010`): a SyntaxError, so the text stays.
  if (/^0[0-9]+$/.test(t) && !/^0+$/.test(t)) throw new NotLiteral();
  return Number(t);
}
