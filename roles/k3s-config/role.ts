import { basename } from 'node:path';
import { controllerFile } from '../_shared/controller-file.ts';
import { elfExecutable } from './elf.ts';
import { K3S_MANIFESTS } from '../_shared/k3s-paths.ts';
import { parseAddress } from '../_shared/ip.ts';
import { nodeReading, readiness } from '../_shared/kube-readiness.ts';
import {
  command,
  defineRole,
  directory,
  file,
  flushHandlers,
  service,
  shellQuote as q,
  template,
  waitUntil,
  type RoleContext,
  type Task,
} from 'vds-play/role';
import type { Vars } from './variables.gen.ts';
import { debianHost } from '../_shared/host-requirements.ts';

type Ctx = RoleContext<Vars>;

const BIN = '/usr/local/bin/k3s';
const TOKEN_FILE = '/var/lib/rancher/k3s/server/token';
const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack'];
/** Restarts and first starts go one node at a time, each waiting for Ready, servers first. */
const TURN = 'one K3s node at a time';

/** What the role needs to know about where this host stands in the cluster. */
function place(ctx: Ctx) {
  const servers = ctx.groupHosts('k3s_server');
  const first = servers[0];
  if (!first) throw new Error('the inventory has no host in group k3s_server: K3s needs a server');
  const isServer = ctx.host.groups.includes('k3s_server');
  return {
    first,
    isServer,
    isFirst: ctx.host.name === first,
    multiServer: servers.length > 1,
    unit: isServer ? 'k3s' : 'k3s-agent',
  };
}

/** kube-proxy-arg is an agent flag: it goes on every node, not only servers. */
function proxyArgs(mode: Vars['kube_proxy_mode']): string[] {
  return mode === 'ipvs' ? ['proxy-mode=ipvs', 'ipvs-strict-arp=true'] : [`proxy-mode=${mode}`];
}

/** /etc/rancher/k3s/config.yaml as an object; the token is added by the template. */
function k3sConfig(ctx: Ctx): Record<string, unknown> {
  const { vars } = ctx;
  const p = place(ctx);
  const nodeIp = vars.k3s_node_ip ?? (parseAddress(ctx.host.address)?.family === 4 ? ctx.host.address : null);
  const managed: Record<string, unknown> = {
    ...(p.isServer
      ? {
          'write-kubeconfig-mode': vars.k3s_write_kubeconfig_mode,
          disable: ['servicelb', ...vars.k3s_disable.filter((d) => d !== 'servicelb')],
        }
      : {}),
    ...(p.isServer && vars.k3s_tls_san.length > 0 ? { 'tls-san': vars.k3s_tls_san } : {}),
    ...(p.isFirst && p.multiServer ? { 'cluster-init': true } : {}),
    ...(p.isFirst ? {} : { server: vars.k3s_server_url ?? `https://${ctx.hostAddress(p.first)}:6443` }),
    'kube-proxy-arg': proxyArgs(vars.kube_proxy_mode),
    ...(nodeIp ? { 'node-ip': nodeIp } : {}),
    ...(vars.k3s_flannel_iface ? { 'flannel-iface': vars.k3s_flannel_iface } : {}),
  };
  for (const key of Object.keys(vars.k3s_extra_config).filter((k) => Object.hasOwn(managed, k) || k === 'token')) {
    ctx.reject(
      ['k3s_extra_config', key],
      `${key} is managed by this role: set it with the role's variables instead (docs/variables.md)`,
    );
  }
  return { ...vars.k3s_extra_config, ...managed };
}

function nodeMissing(ready: Map<string, boolean>, node: string): string | undefined {
  const state = ready.get(`Node/${node}`);
  if (state === undefined) return `node ${node} has not registered with the cluster`;
  return state ? undefined : `node ${node} is registered but not Ready`;
}

function installTasks(ctx: Ctx): Task[] {
  const { vars } = ctx;
  if (vars.k3s_airgap_binary) {
    const content = controllerFile(vars.k3s_airgap_binary, 'k3s_airgap_binary');
    const exe = elfExecutable(content);
    if ('problem' in exe) {
      ctx.reject(['k3s_airgap_binary'], `${vars.k3s_airgap_binary} is not a K3s binary: ${exe.problem}`);
      return [];
    }
    // The host's architecture is known only once connected: a binary for another one is refused
    // on that host before anything is copied to it.
    const wrongArch = `echo ${q(`k3s_airgap_binary ${vars.k3s_airgap_binary} is built for ${exe.arch}; this host is not`)} >&2; uname -m >&2; exit 1`;
    return [
      command(`K3s binary is for this host's architecture (${exe.arch})`, {
        run: wrongArch,
        readOnly: true,
        when: (facts) => !exe.uname.includes(facts.arch),
      }),
      file('K3s binary (airgap)', { path: BIN, content, mode: '0755', summarize: true, notify: 'restart K3s' }),
    ];
  }
  // K3s's official install script: it downloads the pinned release and checks its checksum. The
  // role writes the unit itself afterwards, so starting and restarting stay under its control.
  // Fetched first: a failed download must fail the task, not feed an empty script to sh.
  const install = `script=$(curl -sfL https://get.k3s.io) && printf '%s\\n' "$script" | INSTALL_K3S_VERSION=${JSON.stringify(vars.k3s_version)} INSTALL_K3S_SKIP_START=true INSTALL_K3S_SKIP_ENABLE=true sh -s - ${place(ctx).isServer ? 'server' : 'agent'}`;
  return [
    command('K3s installed (official install script)', {
      run: install,
      unless: `${BIN} --version 2>/dev/null | grep -qF 'k3s version ${vars.k3s_version} '`,
      notify: 'restart K3s',
    }),
  ];
}

/** Where K3s looks for image archives to import at start (its air-gap install). */
const IMAGES_DIR = '/var/lib/rancher/k3s/agent/images';
const IMAGE_ARCHIVE = /\.tar(\.(gz|bz2|lz4|zst))?$/;

function imageTasks(ctx: Ctx): Task[] {
  const archives = ctx.vars.k3s_airgap_images;
  const names = archives.map((path) => basename(path));
  names.forEach((name, i) => {
    if (!IMAGE_ARCHIVE.test(name))
      ctx.reject(
        ['k3s_airgap_images', i],
        `K3s imports .tar, .tar.gz, .tar.bz2, .tar.lz4 or .tar.zst archives; ${name} is none`,
      );
    else if (names.indexOf(name) !== i)
      ctx.reject(['k3s_airgap_images', i], `two archives named ${name}: they would land on the same file`);
  });
  if (archives.length === 0) return [];
  return [
    directory('K3s image archives folder', { path: IMAGES_DIR, mode: '0755' }),
    ...archives.map((path) =>
      file(`K3s image archive ${basename(path)}`, {
        path: `${IMAGES_DIR}/${basename(path)}`,
        content: controllerFile(path, 'k3s_airgap_images'),
        mode: '0644',
        summarize: true,
        notify: 'restart K3s',
      }),
    ),
  ];
}

const kubernetesMinor = (version: string): number => Number(/^v1\.(\d+)\./.exec(version)?.[1] ?? 0);

function ipvsTasks(ctx: Ctx): Task[] {
  const ipvs = ctx.vars.kube_proxy_mode === 'ipvs';
  // Said where it is true: the K3s installed is Kubernetes 1.35 or later.
  if (ipvs && kubernetesMinor(ctx.vars.k3s_version) >= 35)
    ctx.warn(
      `kube_proxy_mode is ipvs: IPVS is deprecated in Kubernetes 1.35 (k3s_version ${ctx.vars.k3s_version}); nftables is its successor`,
    );
  const loaded = IPVS_MODULES.map((m) => `[ -d /sys/module/${m} ]`).join(' && ');
  const load = IPVS_MODULES.map(
    (m) =>
      `{ [ -d /sys/module/${m} ] || modprobe ${m} || { echo "kernel module ${m} cannot be loaded: kube_proxy_mode ipvs needs it (use nftables or iptables on this kernel)" >&2; exit 1; }; }`,
  ).join(' && ');
  return [
    file('IPVS modules loaded at boot', {
      path: '/etc/modules-load.d/k3s-ipvs.conf',
      content: `${IPVS_MODULES.join('\n')}\n`,
      mode: '0644',
      when: ipvs,
    }),
    command('IPVS modules loaded now', { run: load, unless: loaded, when: ipvs }),
  ];
}

export default defineRole<Vars>({
  requires: ({ vars }) => debianHost(...(vars.k3s_airgap_binary ? [] : ['curl'])),
  tasks: (ctx) => {
    const p = place(ctx);
    const token =
      ctx.vars.k3s_token ?? (p.isFirst ? null : ctx.fromHost(p.first, `cat ${TOKEN_FILE}`, { secret: true }));
    return [
      ...installTasks(ctx),
      ...imageTasks(ctx),
      ...ipvsTasks(ctx),
      directory('K3s config directory', { path: '/etc/rancher/k3s', mode: '0755' }),
      template('K3s config', {
        src: 'config.yaml.hbs',
        dest: '/etc/rancher/k3s/config.yaml',
        mode: '0600',
        data: { config: k3sConfig(ctx), token },
        notify: 'restart K3s',
      }),
      template('K3s unit', {
        src: 'k3s.service.hbs',
        dest: `/etc/systemd/system/${p.unit}.service`,
        mode: '0644',
        data: { unitType: p.isServer ? 'notify' : 'exec', command: p.isServer ? 'server' : 'agent' },
        notify: 'restart K3s',
      }),
      // A changed config or unit restarts K3s here (one node at a time), before checking it runs.
      flushHandlers(),
      // A server makes its auto-deploy manifests directory as it first starts (metallb-install writes there).
      service('K3s running', {
        unit: p.unit,
        enabled: true,
        state: 'started',
        rolling: TURN,
        creates: p.isServer ? [K3S_MANIFESTS] : [],
      }),
      waitUntil('node is Ready', {
        read: nodeReading(ctx.host.name),
        missing: (out) => nodeMissing(readiness(out), ctx.host.name),
        what: `node ${ctx.host.name} to be Ready`,
        delegateTo: p.first,
        timeoutMs: ctx.vars.k3s_ready_timeout * 1000,
        intervalMs: 1000,
        rolling: TURN,
      }),
    ];
  },
  handlers: (ctx) => [service('restart K3s', { unit: place(ctx).unit, state: 'restarted', rolling: TURN })],
});
