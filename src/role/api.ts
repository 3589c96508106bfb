/**
 * The API role authors write against. A role is a declaration: a list of named tasks, each
 * one piece of desired state, and the handlers they may notify.
 *
 *   export default defineRole<Vars>({
 *     tasks: ({ vars }) => [
 *       template('k3s config', { src: 'config.yaml.hbs', dest: '/etc/rancher/k3s/config.yaml', mode: '0600', notify: 'restart k3s' }),
 *       sysctl('forwarding for pods', { file: '/etc/sysctl.d/99-k3s.conf', values: { 'net.ipv4.ip_forward': 1 } }),
 *     ],
 *     handlers: () => [service('restart k3s', { unit: 'k3s', state: 'restarted' })],
 *   });
 */
import { join } from 'node:path';
import { aptResource, type AptSpec } from '../resources/apt.ts';
import { commandResource, type CommandSpec } from '../resources/command.ts';
import { directoryResource, type DirectorySpec } from '../resources/directory.ts';
import { fileResource, type FileSpec } from '../resources/file.ts';
import { kubeObjectsResource, type KubeObjectsSpec } from '../resources/kube-objects.ts';
import { linesResource, type LinesSpec } from '../resources/lines.ts';
import { nftApplyResource, type NftApplySpec } from '../resources/nft-apply.ts';
export type { KubeObject } from '../resources/kube-objects.ts';
export type { JudgedReading } from '../resources/wait-until.ts';
export { kubeStatusProbe, type KubeStatus } from '../resources/kube-status.ts';
export { NFT } from '../resources/nft-command.ts';
export type { Probe } from '../resources/types.ts';
import { serviceResource, type ServiceSpec } from '../resources/service.ts';
import { sysctlResource, type SysctlSpec } from '../resources/sysctl.ts';
import type { Resource } from '../resources/types.ts';
import { waitUntilResource, type WaitSpec } from '../resources/wait-until.ts';
import {
  FromHost,
  type BuildEnv,
  type FlushHandlers,
  type RoleDefinition,
  type Task,
  type TaskOptions,
} from './definition.ts';
import { renderTemplate } from './template.ts';

export type { Facts, HostRequirements, RoleContext, RoleDefinition, Task } from './definition.ts';
export { FromHost } from './definition.ts';
/** A value as a YAML document (a HelmChart's valuesContent, say). */
export { toYaml } from '../input/lazy-yaml.ts';
/** Quotes a string for the remote shell (a value in a command a role builds). */
export { q as shellQuote } from '../transport/shell.ts';
/** Checking a value against a JSON schema (a role's own objects), with located problems. */
export { checkSchema, keyPath, type JsonSchema } from '../input/schema-check.ts';

export function defineRole<V>(definition: RoleDefinition<V>): RoleDefinition<V> {
  return definition;
}

function task(name: string, options: TaskOptions, build: (env: BuildEnv) => Resource): Task {
  const notify = options.notify === undefined ? [] : Array.isArray(options.notify) ? options.notify : [options.notify];
  return {
    name,
    tags: options.tags ?? [],
    when: options.when ?? true,
    notify,
    rolling: options.rolling,
    delegateTo: options.delegateTo,
    supersededBy: options.supersededBy,
    build,
  };
}

/** A file with exact content (atomic write), mode and owner; or `state: 'absent'`. */
export const file = (name: string, spec: FileSpec & TaskOptions): Task => task(name, spec, () => fileResource(spec));

export interface TemplateSpec extends Omit<FileSpec, 'content' | 'state' | 'path'> {
  /** A handlebars file in the role's `templates/` folder. */
  src: string;
  /** Where the rendered file goes on the host. */
  dest: string;
  /** Extra data for this template, on top of the role's variables. */
  data?: Record<string, unknown>;
}

/**
 * A file rendered from `templates/SRC` with the role's variables, in strict mode. `data` values
 * may come from other hosts at run time (`ctx.fromHost(...)`): the template is checked with
 * placeholders before the run and rendered with the real values when the task runs.
 *
 * Rendered twice: once before the run, so a template that cannot render is an input error before
 * any host is contacted, and again when the host's turn comes. The content is held only while its
 * task runs: every node's firewall names every node, and 5,000 hosts' rendered files held from
 * the start of the run to its end were gigabytes (bench/RESULTS.md, "Large and hostile inputs").
 */
export const template = (name: string, spec: TemplateSpec & TaskOptions): Task =>
  task(name, spec, (env) => {
    const src = join(env.roleDir, 'templates', spec.src);
    const display = `roles/${env.roleName}/templates/${spec.src}`;
    const render = (data: Record<string, unknown>): Resource =>
      fileResource({
        path: spec.dest,
        content: renderTemplate(src, { ...env.vars, ...data, host: env.host }, display),
        mode: spec.mode,
        owner: spec.owner,
        group: spec.group,
        validate: spec.validate,
      });
    const data = spec.data ?? {};
    const placeholders = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, v instanceof FromHost ? v.placeholder : v]),
    );
    const { describe, probe } = render(placeholders);
    let prepared: Resource | undefined;
    return {
      describe,
      probe,
      prepare: Object.values(data).some((v) => v instanceof FromHost)
        ? async (runtime) => {
            const resolved = await Promise.all(
              Object.entries(data).map(async ([k, v]) => [
                k,
                v instanceof FromHost ? ((await runtime.read(v.host, v.command, v.secret)) ?? v.placeholder) : v,
              ]),
            );
            prepared = render(Object.fromEntries(resolved));
          }
        : undefined,
      plan: (state) => (prepared ?? render(placeholders)).plan(state),
    };
  });

export const directory = (name: string, spec: DirectorySpec & TaskOptions): Task =>
  task(name, spec, () => directoryResource(spec));

/** Kernel parameters persisted in a file and set live, read back to prove they stuck. */
export const sysctl = (name: string, spec: SysctlSpec & TaskOptions): Task =>
  task(name, spec, () => sysctlResource(spec));

export const apt = (name: string, spec: AptSpec & TaskOptions): Task => task(name, spec, () => aptResource(spec));

/** A systemd unit enabled/started; `restarted` is for handlers. */
export const service = (name: string, spec: ServiceSpec & TaskOptions): Task =>
  task(name, spec, () => serviceResource(spec));

/** Raw shell, with a guard (`creates`/`unless`) or declared read-only. */
export const command = (name: string, spec: CommandSpec & TaskOptions): Task =>
  task(name, spec, () => commandResource(spec));

/** Some lines of a file a package owns, the rest left as it is. */
export const lines = (name: string, spec: LinesSpec & TaskOptions): Task => task(name, spec, () => linesResource(spec));

/** An nftables table loaded with a timed rollback that only a new SSH connection disarms. */
export const nftApply = (name: string, spec: NftApplySpec & TaskOptions): Task =>
  task(name, spec, () => nftApplyResource(spec));

/** Kubernetes objects applied with kubectl on the host (retried while a webhook lags), owned ones pruned. */
export const kubeObjects = (name: string, spec: KubeObjectsSpec & TaskOptions): Task =>
  task(name, spec, () => kubeObjectsResource(spec));

export const waitUntil = (name: string, spec: WaitSpec & TaskOptions): Task =>
  task(name, spec, () => waitUntilResource(spec));

/** Runs the handlers notified so far at this point instead of at the end of the role. */
export const flushHandlers = (): FlushHandlers => ({ name: 'flush handlers', flush: true, tags: ['always'] });
