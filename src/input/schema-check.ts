import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { InputProblem, SourceLocation } from './errors.ts';

export type JsonSchema = Record<string, unknown>;

/**
 * One Ajv for the whole program. `secret` marks a role variable whose value must never be shown;
 * `allErrors` so a user sees every mistake in one run.
 */
export const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: false });
ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });

const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** Checks `value` against `schema`, returning one problem per violation, located in the source. */
export function checkSchema(
  schema: JsonSchema,
  value: unknown,
  locate: (path: (string | number)[]) => SourceLocation,
  pathPrefix: (string | number)[] = [],
): InputProblem[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return pruneAnyOf(validate.errors ?? []).map((e) => {
    const path = [...pathPrefix, ...pointerToPath(e.instancePath)];
    const full = e.keyword === 'additionalProperties' ? [...path, String(e.params.additionalProperty)] : path;
    return { location: locate(full), keyPath: keyPath(full) || '(top level)', message: describe(e) };
  });
}

export function keyPath(path: readonly (string | number)[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

export function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const describers: Record<string, (e: ErrorObject) => string> = {
  type: (e) => `expected ${String(e.params.type)}`,
  required: (e) => `missing required key "${String(e.params.missingProperty)}"`,
  additionalProperties: (e) => `unknown key "${String(e.params.additionalProperty)}"`,
  enum: (e) => `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
  const: (e) => `expected ${JSON.stringify(e.params.allowedValue)}`,
  pattern: (e) => `expected a string matching ${String(e.params.pattern)}`,
  minimum: (e) => `expected a number >= ${String(e.params.limit)}`,
  maximum: (e) => `expected a number <= ${String(e.params.limit)}`,
  minItems: (e) => `expected at least ${String(e.params.limit)} item(s)`,
  minLength: (e) => `expected a string of at least ${String(e.params.limit)} character(s)`,
  format: (e) => `expected a ${String(e.params.format)}`,
};

function describe(e: ErrorObject): string {
  const own = describers[e.keyword];
  return own ? own(e) : (e.message ?? e.keyword);
}

/**
 * `anyOf`/`oneOf` report every branch's complaint plus their own; the branches' complaints about
 * the same spot only confuse, so keep the summary ("must match a schema in anyOf") replaced by
 * the union of the expected types.
 */
function pruneAnyOf(errors: ErrorObject[]): ErrorObject[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  if (unions.length === 0) return errors;
  const out: ErrorObject[] = [];
  for (const e of errors) {
    const union = unions.find((u) => u !== e && e.schemaPath.startsWith(u.schemaPath.replace(/\/(anyOf|oneOf)$/, '/$1/')) && e.instancePath === u.instancePath);
    if (union && e.keyword === 'type') continue;
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const types = errors
        .filter((b) => b.keyword === 'type' && b.instancePath === e.instancePath && b.schemaPath.startsWith(e.schemaPath.replace(/\/(anyOf|oneOf)$/, '/$1/')))
        .map((b) => String(b.params.type));
      out.push({ ...e, keyword: 'type', params: { type: types.length ? [...new Set(types)].join(' or ') : 'a different shape' } });
      continue;
    }
    out.push(e);
  }
  return out;
}
