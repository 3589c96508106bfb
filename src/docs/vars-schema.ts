import { CONNECTION_SCHEMA } from '../transport/connection-vars.ts';
import type { JsonSchema } from '../input/schema-check.ts';
import type { DocumentedRole } from './variables-doc.ts';

/** Where the generated schema lives in play's package (docs/), for editors and `play init`. */
export const VARS_SCHEMA_FILE = 'docs/vars.schema.json';

/** play's own schema keywords, which a JSON Schema editor does not know. */
const PLAY_KEYWORDS = new Set(['secret']);

function standard(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(standard);
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => !PLAY_KEYWORDS.has(k))
      .map(([k, v]) => [k, k === 'default' ? v : standard(v)]),
  );
}

/**
 * A JSON Schema for a vars file (group_vars/, host_vars/, a play's vars): every role variable and
 * every connection variable play reads, from the same schemas that check them, and nothing else
 * (a typo is marked where it is typed). For editors: `# yaml-language-server: $schema=...`.
 */
export function varsJsonSchema(roles: DocumentedRole[]): JsonSchema {
  const properties: Record<string, unknown> = {};
  for (const role of roles)
    for (const [name, schema] of Object.entries(role.variables.declared))
      if (!(name in role.variables.borrowed)) properties[name] = standard(schema);
  for (const [name, schema] of Object.entries((CONNECTION_SCHEMA.properties ?? {}) as Record<string, unknown>))
    properties[name] = {
      description: 'A connection setting, as in Ansible (docs/engine.md, Inventory).',
      ...(schema as object),
    };
  properties.ansible_python_interpreter = {
    type: 'string',
    description: 'Accepted and unused: play runs no Python on hosts (kept for inventories shared with Ansible).',
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: "play: variables of an inventory's group_vars/host_vars file",
    type: ['object', 'null'],
    properties: Object.fromEntries(Object.entries(properties).sort(([a], [b]) => (a < b ? -1 : 1))),
    additionalProperties: false,
  };
}
