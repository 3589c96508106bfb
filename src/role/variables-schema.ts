import { existsSync } from 'node:fs';
import { InputError, type SourceLocation } from '../input/errors.ts';
import { checkSchema, type JsonSchema } from '../input/schema-check.ts';
import { expandValueTypes } from '../input/value-types.ts';
import { readYaml, type YamlSource } from '../input/yaml-file.ts';
import { isPlainObject, type VarLayer, type Vars } from '../inventory/variables.ts';

/**
 * A role's `variables.yaml`: one JSON Schema per variable, with `description` (for the generated
 * docs), `default` (the lowest precedence level) and `secret: true` for values never to be shown.
 * A variable without a default is required.
 *
 * A variable several roles read is declared once, by the role that owns it; the others say
 * `NAME: { declaredBy: OWNER }` (and `required: false` when they can do without it), and get
 * the owner's schema, default and secret marking: the same checks and the same masking whichever
 * roles a run selects.
 */
export interface RoleVariables {
  file: string;
  schema: JsonSchema;
  defaults: VarLayer;
  /** Every variable the role reads, with its schema (a borrowed one's is its owner's). */
  declared: Record<string, JsonSchema>;
  /** Variables declared by another role: name → that role. */
  borrowed: Record<string, string>;
  /** Where a variable is declared (a borrowed one: in its owner's variables.yaml). */
  locate(path: readonly (string | number)[]): SourceLocation;
}

/** Another role's variables, by role name (undefined: no such role). */
export type OwnerLookup = (role: string) => RoleVariables | undefined;

const variablesFileSchema: JsonSchema = {
  type: ['object', 'null'],
  propertyNames: { pattern: '^[a-z_][a-z0-9_]*$' },
  additionalProperties: {
    anyOf: [
      {
        type: 'object',
        required: ['description'],
        not: { required: ['declaredBy'] },
        properties: {
          description: { type: 'string', minLength: 1 },
          secret: { type: 'boolean' },
          required: { type: 'boolean' },
        },
      },
      {
        type: 'object',
        required: ['declaredBy'],
        additionalProperties: false,
        properties: { declaredBy: { type: 'string', minLength: 1 }, required: { type: 'boolean' } },
      },
    ],
  },
};

export function loadRoleVariables(file: string, owners: OwnerLookup = () => undefined): RoleVariables {
  if (!existsSync(file))
    return {
      file,
      schema: { type: 'object' },
      defaults: emptyLayer(file),
      declared: {},
      borrowed: {},
      locate: () => ({ file }),
    };
  const src: YamlSource = readYaml(file);
  const problems = checkSchema(variablesFileSchema, src.value, src.locate);
  if (problems.length > 0) throw new InputError(problems);
  const entries = withValueTypes(src.value ?? {}, file);
  const declared: Record<string, JsonSchema> = {};
  const borrowed: Record<string, string> = {};
  const owned = new Map<string, RoleVariables>();
  const defaults: Vars = {};
  const required: string[] = [];
  const properties: Record<string, JsonSchema> = {};
  for (const [name, entry] of Object.entries(entries)) {
    const owner = typeof entry.declaredBy === 'string' ? ownerOf(name, entry.declaredBy, owners, src) : undefined;
    const spec = owner ? (owner.declared[name] as JsonSchema) : entry;
    if (owner) {
      borrowed[name] = String(entry.declaredBy);
      owned.set(name, owner);
    }
    const { required: req, ...schema } = spec;
    declared[name] = spec;
    if ('default' in spec) defaults[name] = spec.default;
    else if (req !== false && entry.required !== false) required.push(name);
    properties[name] = schema;
  }
  return {
    file,
    schema: { type: 'object', properties, required },
    defaults: {
      label: `${file} (defaults)`,
      values: defaults,
      locate: (p) => (owned.get(String(p[0])) ?? { locate: src.locate }).locate([p[0] ?? '', 'default', ...p.slice(1)]),
    },
    declared,
    borrowed,
    locate: (p) => (owned.get(String(p[0])) ?? { locate: src.locate }).locate(p),
  };
}

/** Entries with their `format: NAME` value types turned into patterns (src/input/value-types.ts). */
function withValueTypes(value: unknown, file: string): Record<string, JsonSchema> {
  try {
    return secretsLongEnough(expandValueTypes(value, file)) as Record<string, JsonSchema>;
  } catch (e) {
    throw InputError.at({ file }, e instanceof Error ? e.message : String(e));
  }
}

/** The role that declares `name`, which must declare it itself (no chains of borrowing). */
function ownerOf(name: string, role: string, owners: OwnerLookup, src: YamlSource): RoleVariables {
  const owner = owners(role);
  // Located only when refused: locating parses the file again with positions (most of a rerun's YAML time).
  const at = (): SourceLocation => src.locate([name, 'declaredBy']);
  if (!owner) throw InputError.at(at(), `${name}: declaredBy names role "${role}", which does not exist`);
  if (!(name in owner.declared) || name in owner.borrowed)
    throw InputError.at(at(), `${name}: role "${role}" does not declare ${name} itself`);
  return owner;
}

const emptyLayer = (file: string): VarLayer => ({ label: file, values: {}, locate: () => ({ file }) });

/** A secret shorter than this would mask every place its few characters happen to appear. */
const SECRET_MIN_LENGTH = 8;

/** The schema with every secret string required to be at least SECRET_MIN_LENGTH long, at any depth. */
function secretsLongEnough(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(secretsLongEnough);
  if (!schema || typeof schema !== 'object') return schema;
  const out: JsonSchema = Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === 'default' ? v : secretsLongEnough(v)]),
  );
  if (out.secret === true) out.minLength = Math.max(SECRET_MIN_LENGTH, Number(out.minLength ?? 0));
  return out;
}

/**
 * Paths of secrets given as numbers: YAML reads `12345678901234567890123` as a float, and its
 * digits are lost before anyone can mask them; a secret must be a quoted string.
 */
export function numericSecrets(
  schema: JsonSchema,
  value: unknown,
  path: (string | number)[] = [],
): (string | number)[][] {
  if (value === undefined || value === null) return [];
  if (schema.secret === true) return typeof value === 'number' ? [path] : [];
  const out: (string | number)[][] = [];
  if (isPlainObject(value))
    for (const [k, sub, v] of schemaEntries(schema, value))
      for (const x of numericSecrets(sub, v, [...path, k])) out.push(x);
  if (Array.isArray(value) && isPlainObject(schema.items))
    value.forEach((v, i) => {
      for (const x of numericSecrets(schema.items as JsonSchema, v, [...path, i])) out.push(x);
    });
  return out;
}

/**
 * The keys of `value` the schema has something to say about, with their schemas. Walked from the
 * schema's side when it lists its keys: a host's variables may hold 100,000 keys no role declares,
 * and every role looks at every host.
 */
function schemaEntries(schema: JsonSchema, value: Record<string, unknown>): [string, JsonSchema, unknown][] {
  const props = isPlainObject(schema.properties) ? (schema.properties as Record<string, JsonSchema>) : {};
  const extra = isPlainObject(schema.additionalProperties) ? (schema.additionalProperties as JsonSchema) : undefined;
  if (!extra)
    return Object.entries(props)
      .filter(([k]) => Object.hasOwn(value, k))
      .map(([k, sub]) => [k, sub, value[k]]);
  return Object.entries(value).map(([k, v]) => [k, props[k] ?? extra, v]);
}

/** Every value under a `secret: true` schema node, however deep, as the strings to hide. */
export function secretValues(schema: JsonSchema, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (schema.secret === true) return leafStrings(value);
  const out: string[] = [];
  if (isPlainObject(value))
    for (const [, sub, v] of schemaEntries(schema, value)) for (const x of secretValues(sub, v)) out.push(x);
  if (Array.isArray(value) && isPlainObject(schema.items))
    for (const v of value) for (const x of secretValues(schema.items as JsonSchema, v)) out.push(x);
  return out;
}

function leafStrings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number') return [String(v)];
  if (Array.isArray(v)) return v.flatMap(leafStrings);
  if (isPlainObject(v)) return Object.values(v).flatMap(leafStrings);
  return [];
}
