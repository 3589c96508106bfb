import type { ErrorObject } from 'ajv';
import type { InputProblem, SourceLocation } from './errors.ts';
import { patternMeaning } from './value-types.ts';
import { validatorFor, type JsonSchema } from './validators.ts';

export type { JsonSchema } from './validators.ts';

/** Checks `value` against `schema`, returning one problem per violation, located in the source. */
export function checkSchema(
  schema: JsonSchema,
  value: unknown,
  locate: (path: (string | number)[]) => SourceLocation,
  coerce = false,
): InputProblem[] {
  const validate = validatorFor(schema, coerce);
  if (validate(value)) return [];
  // A bad key (propertyNames) is reported once, at the key, by what its name must be.
  const errors = pruneAnyOf(validate.errors ?? []).filter((e) => e.keyword !== 'propertyNames');
  const shown = errors.slice(0, MAX_PROBLEMS).map((e) => {
    const path = pointerToPath(e.instancePath);
    const key = e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : e.propertyName;
    const full = key === undefined ? path : [...path, key];
    return {
      location: locate(full),
      keyPath: keyPath(full) || '(top level)',
      message: e.propertyName === undefined ? describe(e) : `invalid name: ${describe(e)}`,
    };
  });
  if (errors.length <= MAX_PROBLEMS) return shown;
  const last = shown[shown.length - 1];
  return [
    ...shown,
    {
      location: last?.location ?? locate([]),
      message: `and ${errors.length - MAX_PROBLEMS} more problems in this value, not listed`,
    },
  ];
}

/** Problems listed per value: 130,000 bad list entries are one mistake, not a screenful each. */
const MAX_PROBLEMS = 20;

export function keyPath(path: readonly (string | number)[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function pointerToPath(pointer: string): (string | number)[] {
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
  additionalProperties: (e) =>
    `unknown key "${String(e.params.additionalProperty)}"${didYouMean(String(e.params.additionalProperty), Object.keys((e.parentSchema?.properties as object | undefined) ?? {}))}`,
  enum: (e) => `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
  const: (e) => `expected ${JSON.stringify(e.params.allowedValue)}`,
  pattern: (e) =>
    `expected ${patternMeaning(String(e.params.pattern)) ?? `a string matching ${String(e.params.pattern)}`}`,
  minimum: (e) => `expected a number >= ${String(e.params.limit)}`,
  maximum: (e) => `expected a number <= ${String(e.params.limit)}`,
  exclusiveMinimum: (e) => `expected a number > ${String(e.params.limit)}`,
  minItems: (e) => `expected at least ${String(e.params.limit)} item(s)`,
  minLength: (e) => `expected a string of at least ${String(e.params.limit)} character(s)`,
  format: (e) => `expected a ${String(e.params.format)}`,
};

/** The known key a misspelt one most likely meant: same letters but for case, else the fewest edits away. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const limit = Math.max(1, Math.floor(key.length / 6));
  const near = known
    .map((k) => ({ k, d: editDistance(k.toLowerCase(), lower) }))
    .filter((c) => c.d <= limit)
    .sort((a, b) => a.d - b.d)[0];
  return known.find((k) => k.toLowerCase() === lower) ?? near?.k;
}

export function didYouMean(key: string, known: string[]): string {
  const match = nearest(key, known);
  return match ? ` (did you mean "${match}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'expected') return e.message ?? 'unexpected value';
  const own = describers[e.keyword];
  return own ? own(e) : (e.message ?? e.keyword);
}

/**
 * A value that matches no branch of an `anyOf`/`oneOf` gets a complaint from every branch plus
 * one from the union; the user needs one line saying what the union accepts.
 */
function pruneAnyOf(errors: ErrorObject[]): ErrorObject[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  let out = errors;
  for (const u of unions) {
    const inBranch = (e: ErrorObject): boolean =>
      e !== u && e.schemaPath.startsWith(`${u.schemaPath}/`) && e.instancePath.startsWith(u.instancePath);
    const branchOf = (e: ErrorObject): string => e.schemaPath.slice(u.schemaPath.length + 1).split('/')[0] ?? '';
    const branchErrors = out.filter(inBranch);
    // A branch whose type matched is what the user meant: its own complaints say the most.
    const typeFailed = new Set(
      branchErrors.filter((e) => e.keyword === 'type' && e.instancePath === u.instancePath).map(branchOf),
    );
    const meant = [...new Set(branchErrors.map(branchOf))].filter((b) => !typeFailed.has(b));
    if (meant.length === 1) out = out.filter((e) => e !== u && (!inBranch(e) || branchOf(e) === meant[0]));
    else
      out = out
        .filter((e) => !inBranch(e))
        .map((e) =>
          e === u
            ? { ...e, keyword: 'expected', message: `expected ${describeSchema(e.parentSchema as JsonSchema)}` }
            : e,
        );
  }
  return out;
}

/** A JSON Schema in words, for "expected ..." messages. */
export function describeSchema(s: JsonSchema | undefined): string {
  if (!s) return 'a different value';
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (union) return union.map(describeSchema).join(', or ');
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const type = Array.isArray(s.type) ? s.type.join(' or ') : String(s.type ?? 'value');
  const meaning = typeof s.pattern === 'string' ? patternMeaning(s.pattern) : undefined;
  if (meaning) {
    const others = (Array.isArray(s.type) ? (s.type as string[]) : [String(s.type ?? 'string')]).filter(
      (t) => t !== 'string',
    );
    return [meaning, ...others.map((t) => (t === 'null' ? 'null' : describeSchema({ type: t })))].join(', or ');
  }
  if (type === 'string' && typeof s.pattern === 'string') return `a string matching ${s.pattern}`;
  if ((type === 'integer' || type === 'number') && s.minimum !== undefined)
    return `${type === 'integer' ? 'an integer' : 'a number'} >= ${String(s.minimum)}`;
  if (type === 'array')
    return `a list${s.items ? ` of ${describeSchema(s.items as JsonSchema).replace(/^an? (\w+)$/, '$1s')}` : ''}`;
  if (type === 'object') return 'a mapping';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
