import { existsSync } from 'node:fs';
import { InputError, type SourceLocation } from '../input/errors.ts';
import { checkSchema, type JsonSchema } from '../input/schema-check.ts';
import { readYaml, type YamlSource } from '../input/yaml-file.ts';
import { isPlainObject, type VarLayer, type Vars } from '../inventory/variables.ts';

/**
 * A role's `variables.yaml`: one JSON Schema per variable, with `description` (for the generated
 * docs), `default` (the lowest precedence level) and `secret: true` for values never to be shown.
 * A variable without a default is required.
 */
export interface RoleVariables {
  file: string;
  schema: JsonSchema;
  defaults: VarLayer;
  declared: Record<string, JsonSchema>;
  /** Where a variable is declared in variables.yaml. */
  locate(path: readonly (string | number)[]): SourceLocation;
}

const variablesFileSchema: JsonSchema = {
  type: ['object', 'null'],
  propertyNames: { pattern: '^[a-z_][a-z0-9_]*$' },
  additionalProperties: {
    type: 'object',
    required: ['description'],
    properties: { description: { type: 'string', minLength: 1 }, secret: { type: 'boolean' }, required: { type: 'boolean' } },
  },
};

export function loadRoleVariables(file: string): RoleVariables {
  if (!existsSync(file)) return { file, schema: { type: 'object' }, defaults: emptyLayer(file), declared: {}, locate: () => ({ file }) };
  const src: YamlSource = readYaml(file);
  const problems = checkSchema(variablesFileSchema, src.value, src.locate);
  if (problems.length > 0) throw new InputError(problems);
  const declared = (src.value ?? {}) as Record<string, JsonSchema>;
  const defaults: Vars = {};
  const required: string[] = [];
  const properties: Record<string, JsonSchema> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const { required: req, ...schema } = spec;
    if ('default' in spec) defaults[name] = spec.default;
    else if (req !== false) required.push(name);
    properties[name] = schema;
  }
  return {
    file,
    schema: { type: 'object', properties, required },
    defaults: { label: `${file} (defaults)`, values: defaults, locate: (p) => src.locate([p[0] ?? '', 'default', ...p.slice(1)]) },
    declared,
    locate: (p) => src.locate(p),
  };
}

const emptyLayer = (file: string): VarLayer => ({ label: file, values: {}, locate: () => ({ file }) });

/** Every value under a `secret: true` schema node, however deep, as the strings to hide. */
export function secretValues(schema: JsonSchema, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (schema.secret === true) return leafStrings(value);
  const out: string[] = [];
  const props = isPlainObject(schema.properties) ? (schema.properties as Record<string, JsonSchema>) : {};
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const sub = props[k] ?? (isPlainObject(schema.additionalProperties) ? (schema.additionalProperties as JsonSchema) : undefined);
      if (sub) out.push(...secretValues(sub, v));
    }
  }
  if (Array.isArray(value) && isPlainObject(schema.items)) value.forEach((v) => out.push(...secretValues(schema.items as JsonSchema, v)));
  return out;
}

function leafStrings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number') return [String(v)];
  if (Array.isArray(v)) return v.flatMap(leafStrings);
  if (isPlainObject(v)) return Object.values(v).flatMap(leafStrings);
  return [];
}
