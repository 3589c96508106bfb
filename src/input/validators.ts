import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, Options, ValidateFunction } from 'ajv';

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
 * schemas alone are large). Run from the compiled tree (dist/KEY/), each validator's code is kept
 * in dist/KEY/validators/, named by a hash of Ajv's version, its options and the schema, and
 * loaded from there by later runs, which then do not load Ajv at all. Run from the sources
 * (tests, tsx), validators are compiled in memory only.
 */
const treeRoot = fileURLToPath(new URL('../../', import.meta.url));
const cacheDir = existsSync(`${treeRoot}.complete`) ? `${treeRoot}validators/` : undefined;

const inMemory = { strict: new WeakMap<JsonSchema, ValidateFunction>(), coercing: new WeakMap<JsonSchema, ValidateFunction>() };

/**
 * The validator for `schema`. With `coerce`, scalars are converted to the declared type in place
 * where that is lossless (`-e port=8080` gives a string, as in Ansible, for an integer variable).
 */
export function validatorFor(schema: JsonSchema, coerce: boolean): ValidateFunction {
  const memo = coerce ? inMemory.coercing : inMemory.strict;
  let validate = memo.get(schema);
  if (!validate) {
    validate = cacheDir ? onDisk(cacheDir, schema, coerce) : compiler(coerce).compile(schema);
    memo.set(schema, validate);
  }
  return validate;
}

function onDisk(dir: string, schema: JsonSchema, coerce: boolean): ValidateFunction {
  const version = (require('ajv/package.json') as { version: string }).version;
  const key = createHash('sha256').update(JSON.stringify([version, OPTIONS, coerce, schema])).digest('hex').slice(0, 24);
  const file = `${dir}${key}.cjs`;
  if (existsSync(file)) return require(file) as ValidateFunction;
  const ajv = compiler(coerce, true);
  const validate = ajv.compile(schema);
  const standalone = (require('ajv/dist/standalone') as { default: (ajv: AjvClass, v: ValidateFunction) => string }).default;
  try {
    mkdirSync(dir, { recursive: true });
    // Written aside and renamed: a run started meanwhile never loads half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, standalone(ajv, validate));
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written (a full disk) only costs the next run the compile.
  }
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
