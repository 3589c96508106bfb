import type { JsonSchema } from '../input/schema-check.ts';

const tags: JsonSchema = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
const percent = { type: 'string', pattern: '^\\d+(\\.\\d+)?%$' };
const batch = { anyOf: [{ type: 'integer', minimum: 1 }, percent] };

/** The shape of a playbook; checked before anything runs on a host. */
export const playbookSchema: JsonSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['hosts', 'roles'],
    additionalProperties: false,
    properties: {
      name: { type: 'string' },
      hosts: {
        anyOf: [
          { type: 'string', minLength: 1 },
          { type: 'array', items: { type: 'string' }, minItems: 1 },
        ],
      },
      roles: {
        type: 'array',
        items: {
          anyOf: [
            { type: 'string', minLength: 1 },
            {
              type: 'object',
              required: ['role'],
              additionalProperties: false,
              properties: { role: { type: 'string', minLength: 1 }, tags, vars: { type: 'object' } },
            },
          ],
        },
      },
      vars: { type: 'object' },
      serial: { anyOf: [batch, { type: 'array', items: batch, minItems: 1 }] },
      become: { type: 'boolean' },
      tags,
      any_errors_fatal: { type: 'boolean' },
      max_fail_percentage: { type: 'number', minimum: 0, maximum: 100 },
    },
  },
};
