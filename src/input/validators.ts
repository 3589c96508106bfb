import { createRequire } from 'node:module';
import type { Ajv as AjvClass, Options, ValidateFunction } from 'ajv';
import { DerivedCache, treeCache } from './derived-cache.ts';

export type JsonSchema = Record<string, unknown>;

const require = createRequire(import.meta.url);

/**
 * `secret` marks a role variable whose value must never be shown; `allErrors` so a user sees
 * every mistake in one run. Schemas are not checked against the JSON Schema meta-schema: that
 * cost a tenth of a no-op rerun, and a malformed keyword still fails when the schema is compiled.
 * `verbose` gives errors their schema, which the messages quote.
 */
const OPTIONS = { allErrors: true, strict: false, verbose: true, validateSchema: false } as const;

/**
 * Ajv compiles a schema into JavaScript, which costs a good part of a rerun (the MetalLB CRD
 * schemas alone are large). Each validator's code is cached (dist/KEY/validators/), so later
 * runs do not load Ajv at all.
 */
const cache = treeCache('validators');

const inMemory = {
  strict: new WeakMap<JsonSchema, ValidateFunction>(),
  coercing: new WeakMap<JsonSchema, ValidateFunction>(),
};

/**
 * The validator for `schema`. With `coerce`, scalars are converted to the declared type in place
 * where that is lossless (`-e port=8080` gives a string, as in Ansible, for an integer variable).
 */
export function validatorFor(schema: JsonSchema, coerce: boolean): ValidateFunction {
  const memo = coerce ? inMemory.coercing : inMemory.strict;
  let validate = memo.get(schema);
  if (!validate) {
    validate = cache ? cached(cache, schema, coerce) : compiler(coerce).compile(schema);
    memo.set(schema, validate);
  }
  return validate;
}

function cached(cache: DerivedCache, schema: JsonSchema, coerce: boolean): ValidateFunction {
  const key = DerivedCache.key((require('ajv/package.json') as { version: string }).version, OPTIONS, coerce, schema);
  const known = cache.load<ValidateFunction>(key);
  if (known) return known;
  const ajv = compiler(coerce, true);
  const validate = ajv.compile(schema);
  const standalone = (require('ajv/dist/standalone') as { default: (ajv: AjvClass, v: ValidateFunction) => string })
    .default;
  cache.write(key, '.cjs', standalone(ajv, validate));
  return validate;
}

const compilers = new Map<string, AjvClass>();

/** One Ajv per set of options for the whole program, loaded only when a schema must be compiled. */
function compiler(coerce: boolean, source = false): AjvClass {
  const key = `${coerce}:${source}`;
  let ajv = compilers.get(key);
  if (!ajv) {
    const { Ajv } = require('ajv') as { Ajv: new (o: Options) => AjvClass };
    ajv = new Ajv({ ...OPTIONS, coerceTypes: coerce, code: { source } });
    ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });
    compilers.set(key, ajv);
  }
  return ajv;
}
