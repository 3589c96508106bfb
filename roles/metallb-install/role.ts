import {
  command,
  defineRole,
  directory,
  file,
  toYaml,
  waitUntil,
  type JudgedReading,
  type RoleContext,
} from 'vds-play/role';
import { objectsReading, readiness } from '../_shared/kube-readiness.ts';
import { controllerFile } from '../_shared/controller-file.ts';
import { K3S_MANIFESTS } from '../_shared/k3s-paths.ts';
import { FRR_ONLY_PEER_FIELDS, METALLB_CRDS } from '../_shared/metallb.ts';
import type { Vars } from './variables.gen.ts';
import { debianHost } from '../_shared/host-requirements.ts';

type Speaker = 'native' | 'frr' | 'frr-k8s';

const MANIFESTS = K3S_MANIFESTS;
const TARGET = `${MANIFESTS}/metallb.yaml`;

/**
 * The speaker mode the features ask for; native with FRR-only fields is rejected, naming each.
 * A release manifest from the controller decides the mode itself (metallb-native.yaml runs the
 * native speaker whatever the variables say): MetalLB's webhook would refuse an FRR-only field
 * there only once the objects are applied ("has keepalive-time set on native bgp mode").
 */
function speakerMode(ctx: RoleContext<Vars>, manifest?: { flavor: Speaker; file: string }): Speaker {
  const { vars } = ctx;
  const frrUses = vars.metallb_bgp_peers.flatMap((p, i) =>
    FRR_ONLY_PEER_FIELDS.filter((f) => p[f] !== undefined).map((f) => ({ path: ['metallb_bgp_peers', i, f], f })),
  );
  const needsFrr = frrUses.length > 0 || vars.metallb_bfd_profiles.length > 0;
  if (manifest && vars.metallb_speaker_mode !== 'auto' && vars.metallb_speaker_mode !== manifest.flavor) {
    ctx.reject(
      ['metallb_speaker_mode'],
      `is ${vars.metallb_speaker_mode}, but metallb_manifest_file ${manifest.file} installs the ${manifest.flavor} speaker (metallb-${manifest.flavor}.yaml)`,
    );
  }
  const mode =
    manifest?.flavor ??
    (vars.metallb_speaker_mode === 'auto' ? (needsFrr ? 'frr-k8s' : 'native') : vars.metallb_speaker_mode);
  if (mode !== 'native') return mode;
  const why = manifest
    ? `metallb_manifest_file ${manifest.file} installs the native speaker (MetalLB's webhook rejects it there): give metallb-frr-k8s.yaml`
    : `metallb_speaker_mode is native (MetalLB's native BGP rejects it): use frr-k8s or auto`;
  for (const u of frrUses) ctx.reject(u.path, `${u.f} needs an FRR-based speaker, but ${why}`);
  if (vars.metallb_bfd_profiles.length > 0)
    ctx.reject(['metallb_bfd_profiles'], `BFD needs an FRR-based speaker, but ${why}`);
  return 'native';
}

/** K3s's helm controller installs this HelmChart from MetalLB's chart repository. */
function helmChart(vars: Vars, speaker: Speaker): string {
  const values = { speaker: { frr: { enabled: speaker === 'frr' } }, frrk8s: { enabled: speaker === 'frr-k8s' } };
  return toYaml({
    apiVersion: 'helm.cattle.io/v1',
    kind: 'HelmChart',
    metadata: { name: 'metallb', namespace: 'kube-system' },
    spec: {
      repo: 'https://metallb.github.io/metallb',
      chart: 'metallb',
      version: vars.metallb_version.replace(/^v/, ''),
      targetNamespace: vars.metallb_namespace,
      createNamespace: true,
      valuesContent: toYaml(values),
    },
  });
}

/** What "MetalLB is ready" is made of, each with what to say while it is missing. */
const READY_PARTS: { ref: string; key: string; missing: string }[] = [
  ...METALLB_CRDS.map((c) => ({
    ref: `crd/${c}`,
    key: `CustomResourceDefinition/${c}`,
    missing: `CRD ${c} not established`,
  })),
  { ref: 'deployment/controller', key: 'Deployment/controller', missing: 'controller deployment not available' },
  {
    ref: 'endpoints/metallb-webhook-service',
    key: 'Endpoints/metallb-webhook-service',
    missing: 'webhook service metallb-webhook-service has no ready endpoints',
  },
];

/** Whether MetalLB is ready, in one kubectl call (it is read on every rerun) judged on the controller. */
function metallbReady(ns: string): JudgedReading {
  return {
    read: objectsReading(
      READY_PARTS.map((p) => p.ref),
      ns,
    ),
    missing: (out) => {
      const ready = readiness(out);
      const missing = READY_PARTS.filter((p) => ready.get(p.key) !== true).map((p) => p.missing);
      return missing.length > 0 ? missing.join('; ') : undefined;
    },
  };
}

/** What a MetalLB release manifest is: the speaker it runs and the version its controller image names. */
export type ReleaseManifest = { flavor: Speaker; version?: string } | { problem: string };

/**
 * What a file given as MetalLB's release manifest is, or why it is not one: checked before it is
 * copied into K3s's auto-deploy directory, where K3s would apply whatever it holds. A scan of its
 * documents, not a YAML parse: parsing the CRDs cost every rerun about 100 ms (kubectl parses it
 * anyway when K3s applies it). The speaker is read from the images it names
 * (metallb-native.yaml has no FRR image).
 */
function readManifest(content: Buffer): ReleaseManifest {
  const text = content.toString('utf8');
  const problem = (why: string): ReleaseManifest => ({ problem: why });
  if (content.includes(0) || !Buffer.from(text, 'utf8').equals(content)) return problem('it is not text (a binary?)');
  const docs = text
    .split(/^---[ \t]*$/m)
    .map((d) => d.replace(/^[ \t]*#.*$/gm, '').trim())
    .filter(Boolean);
  if (docs.length === 0) return problem('it is empty');
  if (docs.some((d) => !/^apiVersion:\s*\S/m.test(d) || !/^kind:\s*\S/m.test(d)))
    return problem('a document in it is not a Kubernetes object (apiVersion, kind)');
  const has = (kind: string, line: RegExp): boolean =>
    docs.some((d) => new RegExp(`^kind:\\s*${kind}\\s*$`, 'm').test(d) && line.test(d));
  if (!has('CustomResourceDefinition', /^\s+group:\s*metallb\.io\s*$/m))
    return problem('it defines no metallb.io CustomResourceDefinition');
  if (!has('Deployment', /^\s+name:\s*controller\s*$/m) || !has('DaemonSet', /^\s+name:\s*speaker\s*$/m))
    return problem('it has no controller Deployment and speaker DaemonSet');
  const flavor: Speaker = /image:\s*\S*\/frr-k8s:/.test(text)
    ? 'frr-k8s'
    : /image:\s*\S*\/frrouting\/frr:/.test(text)
      ? 'frr'
      : 'native';
  return { flavor, version: /image:\s*\S*\/metallb\/controller:(v\d+\.\d+\.\d+)\b/.exec(text)?.[1] };
}

export default defineRole<Vars>({
  requires: ({ vars }) =>
    debianHost(...(vars.metallb_install_method !== 'helm' && !vars.metallb_manifest_file ? ['curl'] : [])),
  tasks: (ctx) => {
    const { vars } = ctx;
    const manifest =
      vars.metallb_install_method !== 'helm' && vars.metallb_manifest_file
        ? controllerFile(vars.metallb_manifest_file, 'metallb_manifest_file')
        : undefined;
    const release =
      manifest && vars.metallb_manifest_file
        ? { ...readManifest(manifest), file: vars.metallb_manifest_file }
        : undefined;
    if (release && 'problem' in release)
      ctx.reject(['metallb_manifest_file'], `${release.file} is not a MetalLB release manifest: ${release.problem}`);
    const given = release && 'flavor' in release ? release : undefined;
    if (given?.version && given.version !== vars.metallb_version)
      ctx.reject(
        ['metallb_manifest_file'],
        `${given.file} installs MetalLB ${given.version}, but metallb_version is ${vars.metallb_version}`,
      );
    const speaker = speakerMode(ctx, given);
    const flavor = `metallb-${speaker}.yaml`;
    const install =
      vars.metallb_install_method === 'helm'
        ? file(`MetalLB ${vars.metallb_version} HelmChart (${speaker})`, {
            path: TARGET,
            content: helmChart(vars, speaker),
            mode: '0600',
          })
        : vars.metallb_manifest_file
          ? file(`MetalLB ${vars.metallb_version} release manifest (${flavor}, from the controller)`, {
              path: TARGET,
              content: manifest ?? Buffer.alloc(0),
              mode: '0600',
              summarize: true,
            })
          : command(`MetalLB ${vars.metallb_version} release manifest (${flavor}, downloaded)`, {
              run: `set -e; t=$(mktemp ${MANIFESTS}/.metallb-XXXXXX); trap 'rm -f "$t"' EXIT; { echo '# play: metallb ${vars.metallb_version} ${flavor}'; curl -sfL https://raw.githubusercontent.com/metallb/metallb/${vars.metallb_version}/config/manifests/${flavor}; } > "$t"; mv -f "$t" ${TARGET}`,
              unless: `head -1 ${TARGET} 2>/dev/null | grep -qx '# play: metallb ${vars.metallb_version} ${flavor}'`,
            });
    return [
      directory('K3s auto-deploy manifests directory', { path: MANIFESTS }),
      install,
      waitUntil('MetalLB ready: CRDs established, controller available, webhook endpoints ready', {
        ...metallbReady(vars.metallb_namespace),
        what: `MetalLB ${vars.metallb_version} in ${vars.metallb_namespace}`,
        timeoutMs: vars.metallb_ready_timeout * 1000,
        intervalMs: 1000,
      }),
    ];
  },
});
