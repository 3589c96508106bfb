import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { stringify } from 'yaml';

/** A template that cannot render: names the template file, the line and the variable. */
export class TemplateError extends Error {
  constructor(readonly template: string, message: string) {
    super(`template ${template}: ${message}`);
    this.name = 'TemplateError';
  }
}

const hb = Handlebars.create();
// Config files, not HTML: no entity escaping. Helpers for the structured values configs need.
hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
hb.registerHelper('yaml', (v: unknown) => stringify(v).trimEnd());
hb.registerHelper('join', (v: unknown, sep: unknown) => (Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ',') : String(v)));
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);

const cache = new Map<string, Handlebars.TemplateDelegate>();

/**
 * Renders in strict mode: a variable the template uses but the data lacks is an error naming it,
 * never an empty string in a config file.
 */
export function renderTemplate(file: string, data: Record<string, unknown>, displayName = file): string {
  let compiled = cache.get(file);
  if (!compiled) {
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch {
      throw new TemplateError(displayName, 'file not found');
    }
    compiled = hb.compile(source, { strict: true, noEscape: true });
    cache.set(file, compiled);
  }
  try {
    return compiled(data);
  } catch (e) {
    throw new TemplateError(displayName, describe(e));
  }
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const located = e as Error & { lineNumber?: number; column?: number };
  const where = located.lineNumber ? `line ${located.lineNumber}: ` : '';
  const missing = /^"(.+)" not defined in/.exec(e.message);
  return missing ? `${where}variable "${missing[1]}" is not defined` : `${where}${e.message.split('\n')[0]}`;
}
