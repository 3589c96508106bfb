import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import { DerivedCache, isJson, treeCache } from '../input/derived-cache.ts';
import { toYaml, yamlVersion } from '../input/lazy-yaml.ts';
import { PlayError } from '../errors.ts';

/** A template that cannot render: names the template file, the line and the variable. */
export class TemplateError extends PlayError {
  static override readonly kind = 'template';
  constructor(
    readonly template: string,
    message: string,
  ) {
    super(`template ${template}: ${message}`);
    this.name = 'TemplateError';
  }
}

type Spec = Parameters<typeof Handlebars.template>[0];

const require = createRequire(import.meta.url);
const Runtime = require('handlebars/runtime') as typeof Handlebars;

/**
 * Config files, not HTML: no entity escaping. Strict: a variable the template uses but the data
 * lacks is an error naming it, never an empty string in a config file.
 */
const OPTIONS = { strict: true, noEscape: true } as const;

const hb = Runtime.create();
// Helpers for the structured values configs need.
hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
hb.registerHelper('yaml', (v: unknown) => yamlText(v));
hb.registerHelper('join', (v: unknown, sep: unknown) =>
  Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ',') : String(v),
);
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);

/**
 * Compiling templates cost a rerun as much as rendering them, and the compiler is most of
 * Handlebars. Templates are compiled to JavaScript once and cached (dist/KEY/templates/), so a
 * rerun loads only Handlebars' runtime.
 */
const cache = treeCache('templates');
const compiled = new Map<string, Handlebars.TemplateDelegate>();

/**
 * The `yaml` helper's output is kept the same way, by the value it was given: K3s's config is
 * rendered with it on every run, and a rerun then never loads the yaml library.
 */
export function yamlText(value: unknown, kept: DerivedCache | undefined = cache): string {
  const key = kept && isJson(value) ? DerivedCache.key('yaml helper', yamlVersion, value) : undefined;
  const known = key ? kept?.readText(key, '.yaml') : undefined;
  if (known !== undefined) return known;
  const text = toYaml(value).trimEnd();
  // K3s's config holds its secret keys: kept only once the run knows its secrets, and never one holding them.
  if (key) kept?.writeJudged(key, '.yaml', text);
  return text;
}

export function renderTemplate(file: string, data: Record<string, unknown>, displayName = file): string {
  try {
    return templateOf(file, displayName)(data);
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    throw new TemplateError(displayName, describe(e));
  }
}

/** A template file is read and compiled once per run, however many hosts render it. */
function templateOf(file: string, displayName: string): Handlebars.TemplateDelegate {
  const known = compiled.get(file);
  if (known) return known;
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    throw new TemplateError(displayName, 'file not found');
  }
  const template = hb.template(specFor(source));
  compiled.set(file, template);
  return template;
}

function specFor(source: string): Spec {
  const key = cache && DerivedCache.key('handlebars', hb.VERSION, OPTIONS, source);
  const known = key ? cache?.load<Spec>(key) : undefined;
  if (known) return known;
  const { precompile } = require('handlebars') as { precompile: (s: string, o: typeof OPTIONS) => string };
  const code = precompile(source, OPTIONS);
  if (key) cache?.write(key, '.cjs', `module.exports = ${code};\n`);
  return new Function(`return ${code};`)() as Spec;
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const located = e as Error & { lineNumber?: number; column?: number };
  const where = located.lineNumber ? `line ${located.lineNumber}: ` : '';
  const missing = /^"(.+)" not defined in/.exec(e.message);
  return missing ? `${where}variable "${missing[1]}" is not defined` : `${where}${e.message.split('\n')[0]}`;
}
