import type { InputProblem } from '../input/errors.ts';
import { checkSchema, type JsonSchema } from '../input/schema-check.ts';
import { VALUE_TYPES } from '../input/value-types.ts';
import { locateVar, valuesOf, type ResolvedVar } from '../inventory/variables.ts';
import { ansibleVariableProblems } from './ansible-variables.ts';
import { keyFileProblem } from './key-file.ts';
import { parseSshArgs } from './ssh-args.ts';
import { BECOME_PASSWORD, SSH_PASSWORD, expandHome, password } from './target.ts';

/** A user name as ssh and sudo take it (also what `play init --user` accepts). */
export const USER = '^[A-Za-z0-9._][A-Za-z0-9._-]*$';
/** A password as Ansible takes it (`ansible_password: 1234` too), one line: it is sent as a line. */
const PASSWORD = { type: ['string', 'number'], pattern: '^[^\\n\\r]*$' };
const ANSIBLE_BOOLEAN = ['yes', 'no', 'true', 'false', 'True', 'False', 'YES', 'NO', 'on', 'off', '1', '0'];

/**
 * Ansible's connection variables as play reads them (src/transport/target.ts). A bad one would
 * otherwise fail late or quietly do something else: `ansible_port: ssh` became port 22,
 * `ansible_timeout: 0` waited forever, an empty `ansible_host` reached the controller itself.
 */
export const CONNECTION_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    ansible_host: { type: 'string', pattern: VALUE_TYPES.host?.pattern },
    ansible_port: { type: 'integer', minimum: 1, maximum: 65535 },
    ansible_user: { type: 'string', pattern: USER },
    ansible_become_user: { type: 'string', pattern: USER },
    ansible_become: { anyOf: [{ type: 'boolean' }, { enum: ANSIBLE_BOOLEAN }] },
    ansible_become_method: { enum: ['sudo', 'su'] },
    ...Object.fromEntries([...SSH_PASSWORD, ...BECOME_PASSWORD].map((k) => [k, PASSWORD])),
    ansible_timeout: { type: 'number', exclusiveMinimum: 0 },
    ansible_command_timeout: { type: 'number', exclusiveMinimum: 0 },
    ansible_ssh_private_key_file: { type: 'string', minLength: 1, pattern: VALUE_TYPES['no-control']?.pattern },
    ansible_private_key_file: { type: 'string', minLength: 1, pattern: VALUE_TYPES['no-control']?.pattern },
    ansible_ssh_common_args: { type: 'string', pattern: VALUE_TYPES['no-control']?.pattern },
    ansible_ssh_extra_args: { type: 'string', pattern: VALUE_TYPES['no-control']?.pattern },
  },
};

/**
 * What is wrong with a host's connection variables, located where each was set. Numbers given as
 * strings (`-e ansible_port=2222`) are converted in place, as for role variables.
 */
export function connectionProblems(resolved: Map<string, ResolvedVar>): InputProblem[] {
  const vars = valuesOf(resolved);
  const problems = [
    ...checkSchema(CONNECTION_SCHEMA, vars, (p) => locateVar(resolved, p), true),
    ...ansibleVariableProblems(resolved, Object.keys(CONNECTION_SCHEMA.properties as object)),
  ];
  for (const key of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
    const text = vars[key];
    if (typeof text !== 'string') continue;
    problems.push(
      ...parseSshArgs(text).problems.map((message) => ({
        location: locateVar(resolved, [key]),
        keyPath: key,
        message,
      })),
    );
  }
  for (const k of Object.keys(CONNECTION_SCHEMA.properties as object)) {
    const entry = resolved.get(k);
    if (entry && vars[k] !== undefined) entry.value = vars[k];
  }
  if (problems.length === 0) problems.push(...keyProblems(resolved, vars), ...suProblems(resolved, vars));
  return problems;
}

/** su asks for the target user's password wherever it runs: without one it cannot become anyone. */
function suProblems(resolved: Map<string, ResolvedVar>, vars: Record<string, unknown>): InputProblem[] {
  if (vars.ansible_become_method !== 'su' || password(vars, BECOME_PASSWORD) !== undefined) return [];
  if (vars.ansible_user !== undefined && vars.ansible_user === (vars.ansible_become_user ?? 'root')) return [];
  return [
    {
      location: locateVar(resolved, ['ansible_become_method']),
      keyPath: 'ansible_become_method',
      message: `su asks for the password of ${String(vars.ansible_become_user ?? 'root')}: set ansible_become_password (in a vaulted file) or run with -K`,
    },
  ];
}

/** Every password a host's connection uses: secrets, masked wherever they would show. */
export function connectionSecrets(vars: Record<string, unknown>): string[] {
  return [password(vars, SSH_PASSWORD), password(vars, BECOME_PASSWORD)].filter((p): p is string => p !== undefined);
}

/** The private key the connection will use, if one is named, checked before any connection. */
function keyProblems(resolved: Map<string, ResolvedVar>, vars: Record<string, unknown>): InputProblem[] {
  // Where target.ts takes the key from, in its order: the variables, then -i in the ssh args.
  const candidates = [
    ...['ansible_ssh_private_key_file', 'ansible_private_key_file'].map((k) => [k, vars[k]] as const),
    ...['ansible_ssh_common_args', 'ansible_ssh_extra_args'].map(
      (k) => [k, typeof vars[k] === 'string' ? parseSshArgs(vars[k]).args.identityFile : undefined] as const,
    ),
  ];
  const [key, file] = candidates.find(([, f]) => typeof f === 'string') ?? [];
  if (key === undefined || typeof file !== 'string') return [];
  const problem = keyFileProblem(expandHome(file));
  return problem ? [{ location: locateVar(resolved, [key]), keyPath: key, message: problem }] : [];
}
