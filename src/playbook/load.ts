import { dirname, join } from 'node:path';
import { installRoot } from '../input/install-root.ts';
import { InputError } from '../input/errors.ts';
import { resolveNamed } from '../input/resolve-path.ts';
import { checkSchema } from '../input/schema-check.ts';
import { readYaml, type YamlSource } from '../input/yaml-file.ts';
import type { VarLayer } from '../inventory/variables.ts';
import type { BatchSize, Play, Playbook, RoleRef } from './model.ts';
import { playbookSchema } from './schema.ts';

/** `site.yaml` alone is looked up in `playbooks/`, then among play's own playbooks. */
export const resolvePlaybookPath = (arg: string, cwd: string): string =>
  resolveNamed(arg, cwd, 'playbooks', 'playbook', join(installRoot, 'playbooks'));

interface RawRole {
  role: string;
  tags?: string | string[];
  vars?: Record<string, unknown>;
}

interface RawPlay {
  name?: string;
  hosts: string | string[];
  roles: (string | RawRole)[];
  vars?: Record<string, unknown>;
  serial?: BatchSize | BatchSize[];
  become?: boolean;
  tags?: string | string[];
  any_errors_fatal?: boolean;
  max_fail_percentage?: number;
}

export function loadPlaybook(file: string): Playbook {
  const src = readYaml(file);
  const problems = checkSchema(playbookSchema, src.value, src.locate);
  if (problems.length > 0) throw new InputError(problems);
  const plays = (src.value as RawPlay[]).map((raw, i) => toPlay(src, raw, i));
  return { file, dir: dirname(file), plays };
}

function toPlay(src: YamlSource, raw: RawPlay, index: number): Play {
  return {
    name: raw.name ?? (Array.isArray(raw.hosts) ? raw.hosts.join(', ') : raw.hosts),
    hosts: raw.hosts,
    roles: raw.roles.map((r, j) => toRoleRef(src, r, [index, 'roles', j])),
    vars: raw.vars ? layer(src, `${src.file} (play vars)`, raw.vars, [index, 'vars']) : undefined,
    serial: raw.serial === undefined ? [] : Array.isArray(raw.serial) ? raw.serial : [raw.serial],
    become: raw.become,
    tags: asList(raw.tags),
    anyErrorsFatal: raw.any_errors_fatal ?? false,
    maxFailPercentage: raw.max_fail_percentage,
    // Located only when a message needs it: locating parses the file's positions.
    get location() {
      return src.locate([index]);
    },
  };
}

function toRoleRef(src: YamlSource, raw: string | RawRole, path: (string | number)[]): RoleRef {
  const named =
    typeof raw === 'string'
      ? { name: raw, tags: [] }
      : {
          name: raw.role,
          tags: asList(raw.tags),
          vars: raw.vars ? layer(src, `${src.file} (role vars)`, raw.vars, [...path, 'vars']) : undefined,
        };
  return {
    ...named,
    get location() {
      return src.locate(path);
    },
  };
}

function layer(src: YamlSource, label: string, values: Record<string, unknown>, prefix: (string | number)[]): VarLayer {
  return { label, values, locate: (p) => src.locate([...prefix, ...p]) };
}

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : (Array.isArray(v) ? v : v.split(',')).map((t) => t.trim()).filter(Boolean);
