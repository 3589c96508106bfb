import { InputError, formatLocation, formatProblem, type InputProblem } from '../input/errors.ts';
import { checkSchema, keyPath, nearest } from '../input/schema-check.ts';
import { HOST_WHAT, isHostAddress } from '../input/value-types.ts';
import { groupsOf, membersOfGroup, inventoryLayers, type Inventory } from '../inventory/model.ts';
import { PatternError, selectHosts } from '../inventory/patterns.ts';
import {
  locateVar,
  mergeLayers,
  valuesOf,
  type ResolvedVar,
  type VarLayer,
  type Vars,
} from '../inventory/variables.ts';
import type { Play, Playbook, RoleRef } from '../playbook/model.ts';
import type { Resource } from '../resources/types.ts';
import {
  FromHost,
  isFlush,
  type HostRequirements,
  type RoleContext,
  type Task,
  type TaskEntry,
} from '../role/definition.ts';
import { allRoleVariables, loadRole, rolePaths, type LoadedRole } from '../role/load.ts';
import { numericSecrets, secretValues } from '../role/variables-schema.ts';
import { connectionProblems, connectionSecrets } from '../transport/connection-vars.ts';
import { batches } from './serial.ts';
import { undeclaredVariables } from './undeclared-vars.ts';
import { checkSelection, isSelected, type Selection } from './selection.ts';

export interface CompileOptions {
  limit?: string;
  extraVars: VarLayer[];
  selection: Selection;
  /** Secrets known before compiling: values opened from Ansible Vault. */
  secrets?: string[];
  /** Connection settings from the command line (-u, --private-key, -T, --ssh-*-args): below the inventory's. */
  connectionDefaults?: VarLayer;
  /** Folders of roles (--roles-path, $PLAY_ROLES_PATH): after those beside the playbook, before play's own. */
  rolesPath?: string[];
}

/** A task ready to run on one host: its resource built (absent for a handler flush point). */
export type PlannedTask = Omit<Task, 'build'> & { resource?: Resource };

export interface CompiledRole {
  name: string;
  /** Selected tasks per host, in order. */
  tasks: Map<string, PlannedTask[]>;
  handlers: Map<string, Map<string, PlannedTask>>;
  /** What each host must have for this role (checked before anything runs on it). */
  requires: Map<string, HostRequirements>;
}

export interface CompiledPlay {
  play: Play;
  hosts: string[];
  batches: string[][];
  roles: CompiledRole[];
  /** Every task name and tag per role, selected or not: for --list-tasks/--list-tags. */
  listing: { role: string; tasks: { name: string; tags: string[]; selected: boolean }[] }[];
}

export interface CompiledRun {
  plays: CompiledPlay[];
  /**
   * Inventory + play + extra vars per host (no role defaults): connection settings come from here.
   * Every inventory host has an entry, selected or not, since any may be read from or delegated to.
   */
  hostVars: Map<string, Vars>;
  /** Values of variables marked secret, to be masked in every output. */
  secrets: string[];
  /** What roles want the operator to know (deprecations), once each. */
  warnings: string[];
  /** Each role's variables as its tasks see them (defaults applied), per host it compiled for: the intended state `play doctor` checks against. */
  roleVars: Map<string, Map<string, Vars>>;
}

/**
 * Everything that can be wrong with the input is found here, before anything runs on a host:
 * host patterns, role names, variables against each role's schema, templates, tags.
 */
export async function compile(playbook: Playbook, inv: Inventory, options: CompileOptions): Promise<CompiledRun> {
  const problems: InputProblem[] = [];
  const roles = new Map<string, LoadedRole>();
  const searchPath = rolePaths(playbook.dir, options.rolesPath);
  for (const play of playbook.plays) {
    for (const ref of play.roles) {
      if (roles.has(ref.name)) continue;
      try {
        roles.set(ref.name, await loadRole(ref, searchPath));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        problems.push(...e.problems);
      }
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  const owners = await withOwners(roles, searchPath);

  const run: CompiledRun = { plays: [], hostVars: new Map(), secrets: [], warnings: [], roleVars: new Map() };
  const merged = new Map<string, Vars>();
  const inventoryVars = (host: string): Vars => {
    let vars = merged.get(host);
    if (!vars) merged.set(host, (vars = valuesOf(mergeLayers(inventoryLayers(inv, host)))));
    return vars;
  };
  const found: Findings = {
    problems: [],
    secrets: [],
    knownTags: new Set(),
    warnings: new Set(),
    checked: new Set(),
    roleVars: run.roleVars,
  };
  for (const play of playbook.plays) {
    const hosts = playHosts(inv, play, options.limit, problems);
    const compiled: CompiledPlay = { play, hosts, batches: batches(hosts, play.serial), roles: [], listing: [] };
    for (const host of hosts) {
      const { vars, problems: bad } = connectionVars(inv, play, host, options);
      found.problems.push(...bad);
      run.hostVars.set(host, vars);
      found.secrets.push(...connectionSecrets(vars));
      // A secret is a secret whichever role declares it and whichever roles run (--role).
      for (const role of roles.values())
        for (const v of secretValues(role.variables.schema, vars)) found.secrets.push(v);
    }
    for (const ref of play.roles) {
      const role = roles.get(ref.name);
      if (!role) continue;
      // --role leaves the other roles out entirely: their variables need not even be set.
      if (options.selection.roles.length > 0 && !options.selection.roles.includes(ref.name)) continue;
      const { role: compiledRole, listed } = compileRole(
        { inv, inventoryVars, play, ref, role, options, owners },
        hosts,
        found,
      );
      compiled.roles.push(compiledRole);
      compiled.listing.push({ role: role.name, tasks: listed });
    }
    run.plays.push(compiled);
  }
  // Hosts outside the selection are contacted too: values read from them (the K3s token on the
  // first server, with --limit w1) and tasks delegated to them. Each connects with its own
  // settings, as the first play that targets it sees them (else inventory and -e alone).
  const unlimited = playbook.plays.map((play) => ({ play, hosts: new Set(playHosts(inv, play, undefined, [])) }));
  for (const host of inv.hosts.keys()) {
    if (run.hostVars.has(host)) continue;
    const { vars, problems: bad } = connectionVars(inv, unlimited.find((p) => p.hosts.has(host))?.play, host, options);
    found.problems.push(...bad);
    run.hostVars.set(host, vars);
    found.secrets.push(...connectionSecrets(vars));
  }
  problems.push(
    ...undeclaredVariables(
      userLayers(playbook, inv, options.extraVars),
      new Set(allRoleVariables(searchPath).flatMap((v) => Object.keys(v.declared))),
    ),
  );
  problems.push(...perHosts(found.problems));
  // Tags are only known for hosts that compiled; with hosts missing, an unknown-tag error would mislead.
  if (problems.length === 0)
    problems.push(
      ...checkSelection(options.selection, found.knownTags, new Set(roles.keys())).map((message) => ({
        location: { file: playbook.file },
        message,
      })),
    );
  if (problems.length > 0) throw new InputError(distinct(problems));
  run.secrets = [...new Set([...found.secrets, ...(options.secrets ?? [])].filter((s) => s.length > 0))];
  run.warnings = [...found.warnings];
  return run;
}

/**
 * Variable precedence, lowest first: role defaults < inventory (`all` < parent groups < child
 * groups < host; inline vars before the group_vars/host_vars file of the same level) < play vars
 * < role parameters < `-e`.
 */
export function precedence(
  defaults: VarLayer | undefined,
  inventory: VarLayer[],
  play: VarLayer | undefined,
  roleParams: VarLayer | undefined,
  extra: VarLayer[],
): VarLayer[] {
  return [defaults, ...inventory, play, roleParams, ...extra].filter((l): l is VarLayer => l !== undefined);
}

/** A host's variables as its connection sees them in a play: inventory, play vars and -e, no role defaults. */
function connectionVars(
  inv: Inventory,
  play: Play | undefined,
  host: string,
  options: Pick<CompileOptions, 'extraVars' | 'connectionDefaults'>,
): { vars: Vars; problems: HostProblem[] } {
  const resolved = mergeLayers(
    precedence(options.connectionDefaults, inventoryLayers(inv, host), play?.vars, undefined, options.extraVars),
  );
  const problems = connectionProblems(resolved).map((p) => ({ ...p, role: '', host }));
  const vars = valuesOf(resolved);
  // Without ansible_host the name is the address: it must be one the resolver reads as written.
  if (vars.ansible_host === undefined && !isHostAddress(host))
    problems.push({
      location: inv.hosts.get(host)?.inline[0]?.locate([]) ?? { file: inv.source },
      message: `host "${host}" has no ansible_host, so its name is its address, and it is not ${HOST_WHAT}`,
      role: '',
      host,
    });
  return { vars, problems };
}

/**
 * The hosts the run will connect to, with their connection variables, as `compile` will find
 * them if the input is good: known before roles load, so connections can open meanwhile.
 */
export function connectionPlan(
  playbook: Playbook,
  inv: Inventory,
  options: Pick<CompileOptions, 'limit' | 'extraVars' | 'connectionDefaults'>,
): Map<string, Vars> {
  const out = new Map<string, Vars>();
  for (const play of playbook.plays) {
    for (const host of playHosts(inv, play, options.limit, [])) {
      const { vars, problems } = connectionVars(inv, play, host, options);
      // Bad connection settings anywhere are refused by compile: no host is contacted meanwhile
      // (a mistyped address may be another host's, or another machine's).
      if (problems.length > 0) return new Map();
      out.set(host, vars);
    }
  }
  return out;
}

function playHosts(inv: Inventory, play: Play, limit: string | undefined, problems: InputProblem[]): string[] {
  try {
    const hosts = selectHosts(inv, play.hosts);
    // An empty --limit selects nothing, as in Ansible, and says so: it is never "all hosts".
    return limit !== undefined ? selectHosts(inv, limit, hosts) : hosts;
  } catch (e) {
    if (!(e instanceof PatternError)) throw e;
    const fromLimit = limit !== undefined;
    problems.push({
      location: fromLimit ? { file: '--limit' } : play.location,
      keyPath: fromLimit ? undefined : 'hosts',
      message: e.message,
    });
    return [];
  }
}

/** The playbook's roles and the roles that own variables they borrow (loaded for their checks). */
async function withOwners(roles: Map<string, LoadedRole>, searchPath: string[]): Promise<Map<string, LoadedRole>> {
  const all = new Map(roles);
  for (const role of roles.values()) {
    for (const name of Object.values(role.variables.borrowed)) {
      if (!all.has(name)) all.set(name, await loadRole({ name, location: { file: role.variables.file } }, searchPath));
    }
  }
  return all;
}

/** Every layer of variables the user wrote: inventory (all hosts), play vars, role parameters, -e. */
function userLayers(playbook: Playbook, inv: Inventory, extraVars: VarLayer[]): VarLayer[] {
  const plays = playbook.plays
    .flatMap((p) => [p.vars, ...p.roles.map((r) => r.vars)])
    .filter((l): l is VarLayer => l !== undefined);
  return [...[...inv.hosts.keys()].flatMap((h) => inventoryLayers(inv, h)), ...plays, ...extraVars];
}

/** One role as one play lists it: what compiling it for a host needs. */
interface RoleSite {
  inv: Inventory;
  /** Each host's inventory variables, merged once per run: roles look at other hosts' a lot. */
  inventoryVars: (host: string) => Vars;
  play: Play;
  ref: RoleRef;
  role: LoadedRole;
  options: CompileOptions;
  /** Every role loaded for the run, owners of borrowed variables included, by name. */
  owners: Map<string, LoadedRole>;
}

/** What compiling every role for every host collects. */
interface Findings {
  problems: HostProblem[];
  secrets: string[];
  knownTags: Set<string>;
  warnings: Set<string>;
  /** `role\0host` of the variable checks already run. */
  checked: Set<string>;
  roleVars: CompiledRun['roleVars'];
}

type Listed = CompiledPlay['listing'][number]['tasks'][number];

function compileRole(site: RoleSite, hosts: string[], found: Findings): { role: CompiledRole; listed: Listed[] } {
  const role: CompiledRole = { name: site.role.name, tasks: new Map(), handlers: new Map(), requires: new Map() };
  const listed = new Map<string, Listed>();
  for (const host of hosts) {
    const compiled = compileForHost(site, host, found);
    if (!compiled) continue;
    compiled.listed.forEach((l) => listed.has(l.name) || listed.set(l.name, l));
    role.tasks.set(host, compiled.tasks);
    role.handlers.set(host, compiled.handlers);
    if (compiled.requires) role.requires.set(host, compiled.requires);
  }
  return { role, listed: [...listed.values()] };
}

/** Variables checked, tasks selected by tags, resources built (templates rendered) for one host. */
/** A role's variables for a host, and what is wrong with them (not yet reported). */
function resolveFor(
  site: RoleSite,
  role: LoadedRole,
  host: string,
): { resolved: Map<string, ResolvedVar>; vars: Vars; bad: InputProblem[] } {
  const { inv, play, ref, options } = site;
  const resolved = mergeLayers(
    precedence(role.variables.defaults, inventoryLayers(inv, host), play.vars, ref.vars, options.extraVars),
  );
  const vars = valuesOf(resolved);
  // Before the schema check: coercion would turn a numeric secret into its (already wrong) string.
  const numeric = numericSecrets(role.variables.schema, vars).map((path) => ({
    location: locateVar(resolved, path),
    keyPath: keyPath(path),
    message: 'a secret must be a quoted string: as a number it loses digits',
  }));
  const bad = [
    ...numeric,
    ...checkSchema(role.variables.schema, vars, (p) => locateVar(resolved, p), true).map((p) =>
      requiredHint(p, role, resolved),
    ),
  ];
  return { resolved, vars, bad };
}

/** The context role code runs with for a host: its findings go to `found`, under the role's name. */
function contextFor(
  site: RoleSite,
  role: LoadedRole,
  host: string,
  resolved: Map<string, ResolvedVar>,
  vars: Vars,
  found: Findings,
): RoleContext {
  const located = (path: (string | number)[]) => ({ location: locateVar(resolved, path), keyPath: keyPath(path) });
  return roleContext(site, host, vars, {
    warn: (m) => found.warnings.add(`${role.name}: ${m}`),
    reject: (path, message) => found.problems.push({ ...located(path), message, role: role.name, host }),
    caution: (path, message) =>
      found.warnings.add(`${formatProblem({ ...located(path), message })} (role ${role.name})`),
  });
}

/**
 * A role's own checks, then those of the roles that own the variables it borrows, each once per
 * host: with only frr-edge selected, l2-or-bgp's checks of the MetalLB variables still run. An
 * owner whose own variables are not all set for the host (the run does not need them) is not
 * checked: what the borrowing role reads was checked against the owner's schema already.
 */
function runChecks(site: RoleSite, host: string, ctx: RoleContext, found: Findings, schemaRefused: boolean): void {
  const key = (role: LoadedRole): string => `${role.name}\0${host}`;
  const once = (role: LoadedRole, run: () => void, quiet = false): void => {
    if (!role.definition.checks || found.checked.has(key(role))) return;
    found.checked.add(key(role));
    if (!quiet) return void guarded(run, { role: role.name, host }, found.problems);
    try {
      run();
    } catch {
      // On values the schema refused, what a check throws is a consequence, already reported.
    }
  };
  once(site.role, () => site.role.definition.checks?.(ctx), schemaRefused);
  for (const name of new Set(Object.values(site.role.variables.borrowed))) {
    const owner = site.owners.get(name);
    // Resolved and schema-checked only while its checks are still due on this host: every node's
    // sysctl and firewall borrow metallb_pools, and l2-or-bgp's checks need running once per host.
    if (!owner?.definition.checks || found.checked.has(key(owner))) continue;
    const { resolved, vars, bad } = resolveFor(site, owner, host);
    if (bad.length === 0)
      once(owner, () => owner.definition.checks?.(contextFor(site, owner, host, resolved, vars, found)));
  }
}

function compileForHost(
  site: RoleSite,
  host: string,
  found: Findings,
):
  | { tasks: PlannedTask[]; handlers: Map<string, PlannedTask>; listed: Listed[]; requires?: HostRequirements }
  | undefined {
  const { inv, play, ref, role, options } = site;
  const { resolved, vars, bad } = resolveFor(site, role, host);
  found.problems.push(...bad.map((p) => ({ ...p, role: role.name, host })));
  if (!found.roleVars.has(role.name)) found.roleVars.set(role.name, new Map());
  found.roleVars.get(role.name)?.set(host, vars);
  for (const v of secretValues(role.variables.schema, vars)) found.secrets.push(v);

  const ctx = contextFor(site, role, host, resolved, vars, found);
  const before = found.problems.length;
  runChecks(site, host, ctx, found, bad.length > 0);
  if (bad.length > 0) {
    // Every problem in one run: the role's own checks above, and those its tasks make, run on
    // what the schema let through (what they throw there is a consequence, already reported).
    try {
      role.definition.tasks(ctx);
    } catch {
      // see above
    }
    return undefined;
  }
  // Where a check rejected a value, the tasks are not built from it.
  if (found.problems.length > before) return undefined;
  const attempt = <T>(fn: () => T, task?: string): T | undefined =>
    guarded(fn, { role: role.name, host, task }, found.problems);
  const build = (task: Task, tags: string[]): PlannedTask | undefined => {
    const resource = attempt(
      () => task.build({ roleDir: role.dir, roleName: role.name, vars, host: ctx.host }),
      task.name,
    );
    const { build: _build, ...declared } = task;
    return resource && { ...declared, tags, resource };
  };
  const tasks: PlannedTask[] = [];
  const listed: Listed[] = [];
  for (const entry of (attempt(() => role.definition.tasks(ctx)) ?? []).filter((e): e is TaskEntry => Boolean(e))) {
    const tags = [...new Set([...play.tags, ...ref.tags, role.name, ...entry.tags])];
    tags.forEach((t) => found.knownTags.add(t));
    const selected = isSelected(tags, role.name, options.selection);
    listed.push({ name: entry.name, tags, selected });
    const planned = !selected
      ? undefined
      : isFlush(entry)
        ? { name: entry.name, tags, when: true, notify: [] }
        : build(entry, tags);
    if (planned) tasks.push(planned);
  }
  const handlers = new Map<string, PlannedTask>();
  for (const h of attempt(() => role.definition.handlers?.(ctx) ?? []) ?? []) {
    const planned = build(h, []);
    if (planned) handlers.set(h.name, planned);
  }
  for (const t of [...tasks, ...handlers.values()].filter((x) => x.delegateTo && !inv.hosts.has(x.delegateTo))) {
    found.problems.push({
      location: { file: `roles/${role.name}/role.ts` },
      message: `task "${t.name}" delegates to unknown host "${t.delegateTo}"`,
      role: role.name,
      host,
    });
  }
  const unknownHandler = (verb: string, t: PlannedTask, n: string): void => {
    const message = `task "${t.name}" ${verb} unknown handler "${n}"; handlers: ${[...handlers.keys()].join(', ') || '(none)'}`;
    found.problems.push({ location: { file: `roles/${role.name}/role.ts` }, message, role: role.name, host });
  };
  for (const t of tasks)
    t.notify.filter((name) => !handlers.has(name)).forEach((n) => unknownHandler('notifies', t, n));
  for (const h of handlers.values())
    if (h.supersededBy && !handlers.has(h.supersededBy)) unknownHandler('is superseded by', h, h.supersededBy);
  const { requires } = role.definition;
  return {
    tasks,
    handlers,
    listed,
    requires: attempt(() => (typeof requires === 'function' ? requires(ctx) : requires)),
  };
}

/** Runs role code; what it throws becomes a problem naming the role, task and host. */
function guarded<T>(
  fn: () => T,
  where: { role: string; host: string; task?: string },
  problems: HostProblem[],
): T | undefined {
  try {
    return fn();
  } catch (e) {
    const what = where.task ? `task "${where.task}": ` : '';
    problems.push({
      location: { file: `roles/${where.role}/role.ts` },
      message: `${what}${e instanceof Error ? e.message : String(e)}`,
      role: where.role,
      host: where.host,
    });
    return undefined;
  }
}

type Reports = Pick<RoleContext, 'warn' | 'reject' | 'caution'>;

/** Where Ansible connects to a host: `ansible_host`, else its inventory name. */
const addressOf = (vars: Vars, host: string): string => String(vars.ansible_host ?? host);

function roleContext({ inv, inventoryVars }: RoleSite, host: string, vars: Vars, reports: Reports): RoleContext {
  return {
    ...reports,
    fromHost: (other, command, o) => {
      if (!inv.hosts.has(other)) throw new Error(`fromHost: unknown host "${other}"`);
      return new FromHost(other, command, o?.secret ?? false);
    },
    vars,
    host: { name: host, groups: groupsOf(inv, host).map((g) => g.name), address: addressOf(vars, host) },
    groupHosts: (group) => membersOfGroup(inv, group),
    hostVars: inventoryVars,
    hostAddress: (other) => addressOf(inventoryVars(other), other),
  };
}

/**
 * A missing variable is best pointed at where the role declares it, with where it may be set;
 * and where the user set a name close to it, at that name (the typo is the likely cause).
 */
function requiredHint(p: InputProblem, role: LoadedRole, resolved: Map<string, ResolvedVar>): InputProblem {
  const m = /^missing required key "(.+)"$/.exec(p.message);
  if (!m || p.keyPath !== '(top level)') return p;
  const name = m[1] ?? '';
  const typo = nearest(
    name,
    [...resolved.keys()].filter((k) => !(k in role.variables.declared)),
  );
  if (typo !== undefined) {
    return {
      location: locateVar(resolved, [typo]),
      keyPath: typo,
      message: `required variable ${name} has no value; this looks like a misspelling of it`,
    };
  }
  return {
    location: role.variables.locate([name]),
    keyPath: name,
    message:
      "required variable has no value: set it in the inventory (group_vars/host_vars), the play's vars, or with -e",
  };
}

/** Each problem once (a bad --limit is met by every play). */
function distinct(problems: InputProblem[]): InputProblem[] {
  return [...new Map(problems.map((p) => [formatProblem(p), p])).values()];
}

/** A problem met while compiling a role for one host. */
type HostProblem = InputProblem & { role: string; host: string };

/** The same bad value in group_vars shows up once per host; report it once, naming the hosts. */
function perHosts(problems: HostProblem[]): InputProblem[] {
  // A shared variable is checked by every role that reads it: one line names them all.
  const byKey = new Map<string, { p: HostProblem; roles: Set<string>; hosts: Set<string> }>();
  for (const p of problems) {
    const key = `${formatLocation(p.location)}|${p.keyPath ?? ''}|${p.message}`;
    const entry = byKey.get(key) ?? { p, roles: new Set<string>(), hosts: new Set<string>() };
    if (p.role) entry.roles.add(p.role);
    entry.hosts.add(p.host);
    byKey.set(key, entry);
  }
  const list = (word: string, names: Set<string>): string =>
    names.size === 0 ? '' : `${word}${names.size > 1 ? 's' : ''} ${[...names].join(', ')}`;
  return [...byKey.values()].map(({ p, roles, hosts }) => ({
    location: p.location,
    keyPath: p.keyPath,
    message: `${p.message} (${[list('role', roles), list('host', hosts)].filter(Boolean).join(', ')})`,
  }));
}
