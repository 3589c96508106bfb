import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pruneUnusedBuilds } from './cache-prune.ts';
import { withLock } from './image.ts';
import { imageCacheDir } from './paths.ts';
import { $, type Shell } from 'zx';

/**
 * The real Kubernetes and MetalLB the lab's hosts run, built from source with Go (nothing
 * prebuilt can be downloaded here). test/lab/components/go.mod is the one place naming their
 * versions; the binaries are built once per version (and per source of the lab's own commands)
 * into the machine's cache and bound read-only into every host at /opt/play-lab/bin.
 */
const MODULE = join(import.meta.dirname, 'components');
/** Where hosts find the binaries: bound read-only at this path (cmd/k3s looks there). */
export const COMPONENTS_MOUNT = '/opt/play-lab/bin';
const GO_BIN = process.env.PLAY_LAB_GO_BIN ?? '/usr/local/go/bin';

export interface Components {
  dir: string;
  kubernetes: string;
  etcd: string;
  metallb: string;
  /** The K3s-shaped shell the k3s role installs through its airgap path. */
  k3s: string;
  /** MetalLB's own release manifests at the version built: native BGP, and FRR-based. */
  metallbManifest: string;
  metallbFrrManifest: string;
}

/** The versions go.mod pins. */
export function componentVersions(): { kubernetes: string; etcd: string; metallb: string } {
  const mod = readFileSync(join(MODULE, 'go.mod'), 'utf8');
  const version = (path: string): string => {
    const m = new RegExp(`^\\s*${path.replace(/\./g, '\\.')} (v\\S+)`, 'm').exec(mod);
    if (!m?.[1]) throw new Error(`test/lab/components/go.mod does not require ${path}`);
    return m[1];
  };
  return {
    kubernetes: version('k8s.io/kubernetes'),
    etcd: version('go.etcd.io/etcd/server/v3'),
    metallb: version('go.universe.tf/metallb'),
  };
}

function sourceKey(): string {
  const h = createHash('sha256');
  const files = [
    'go.mod',
    'go.sum',
    ...readdirSync(join(MODULE, 'cmd'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.go'))
      .sort()
      .map((f) => join('cmd', f)),
  ];
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(readFileSync(join(MODULE, f)))
      .update('\0');
  return h.digest('hex').slice(0, 16);
}

export function componentsFor(dir: string, v = componentVersions()): Components {
  return {
    dir,
    ...v,
    k3s: join(dir, 'k3s'),
    metallbManifest: join(dir, 'metallb-native.yaml'),
    metallbFrrManifest: join(dir, 'metallb-frr.yaml'),
  };
}

/** Returns the cached build for the current sources, building it first when the cache lacks it. */
export async function ensureComponents(log: (msg: string) => void): Promise<Components> {
  const v = componentVersions();
  const dir = join(imageCacheDir, 'components', `k8s-${v.kubernetes}_metallb-${v.metallb}_${sourceKey()}`);
  if (!existsSync(join(dir, '.complete'))) {
    await withLock(
      `${dir}.lock`,
      log,
      async () => {
        if (!existsSync(join(dir, '.complete'))) await build(dir, v, log);
      },
      'the Kubernetes components',
    );
    await pruneUnusedBuilds(dirname(dir), `k8s-`, basename(dir), log);
  }
  return componentsFor(dir, v);
}

/** agnhost's source folder in k8s.io/kubernetes (a main package, with no go.mod of its own). */
const AGNHOST = 'test/images/agnhost';

/** Where the Go module cache holds a module's source, downloaded first where it has none yet. */
async function moduleDir(go: Shell, path: string, version: string): Promise<string> {
  const mod = await go`go mod download -json ${`${path}@${version}`}`;
  const dir = (JSON.parse(mod.stdout) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`${path} ${version}: the Go module cache has no copy of its source`);
  return dir;
}

async function build(dir: string, v: ReturnType<typeof componentVersions>, log: (msg: string) => void): Promise<void> {
  const started = Date.now();
  log(
    `building Kubernetes ${v.kubernetes} (apiserver, controller-manager, scheduler, kubectl, etcd ${v.etcd}, the e2e image agnhost) and MetalLB ${v.metallb} from source with Go (cached for later runs; about 15 min on a fresh machine)`,
  );
  const work = `${dir}.build`;
  await rm(work, { recursive: true, force: true });
  // The node agent's images (cmd/kube/images.go): what MetalLB's images hold, by version.
  const images = join(work, 'images', `metallb-${v.metallb}`);
  await mkdir(join(images, 'controller'), { recursive: true });
  await mkdir(join(images, 'speaker'), { recursive: true });
  const env = {
    ...process.env,
    PATH: `${GO_BIN}:${process.env.PATH ?? ''}`,
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=readonly -buildvcs=false',
  };
  const go = $({ cwd: MODULE, quiet: true, env });
  // MetalLB's images are distroless: static binaries, as its Dockerfiles build them.
  const goStatic = $({ cwd: MODULE, quiet: true, env: { ...env, CGO_ENABLED: '0' } });
  const minor = /^v(\d+)\.(\d+)\./.exec(v.kubernetes);
  const k8sVersion = [
    `-X k8s.io/component-base/version.gitVersion=${v.kubernetes}`,
    `-X k8s.io/component-base/version.gitMajor=${minor?.[1] ?? ''}`,
    `-X k8s.io/component-base/version.gitMinor=${minor?.[2] ?? ''}`,
    `-X k8s.io/client-go/pkg/version.gitVersion=${v.kubernetes}`,
    `-X main.Version=${v.kubernetes}+k3s1`,
  ].join(' ');
  const metallbFlags = '-s -w -X go.universe.tf/metallb/internal/version.gitBranch=play-lab';
  const metallb = 'go.universe.tf/metallb';
  const kubernetesDir = await moduleDir(go, 'k8s.io/kubernetes', v.kubernetes);
  // agnhost's image tag is its own version, in its source folder of that Kubernetes.
  const agnhostTag = readFileSync(join(kubernetesDir, AGNHOST, 'VERSION'), 'utf8').trim();
  const agnhost = join(work, 'images', `agnhost-${agnhostTag}`);
  await mkdir(join(agnhost, 'uploads'), { recursive: true });
  const steps: [string, () => Promise<unknown>][] = [
    [
      'Kubernetes components and the k3s shell',
      () => go`go build -trimpath -ldflags ${`-s -w ${k8sVersion}`} -o ${`${work}/`} ./cmd/kube ./cmd/k3s`,
    ],
    [
      `MetalLB ${v.metallb} controller`,
      () =>
        goStatic`go build -trimpath -ldflags ${metallbFlags} -o ${join(images, 'controller', 'controller')} ${`${metallb}/controller`}`,
    ],
    [
      `MetalLB ${v.metallb} speaker`,
      () =>
        goStatic`go build -trimpath -ldflags ${metallbFlags} -o ${join(images, 'speaker', 'speaker')} ${`${metallb}/speaker`}`,
    ],
    [
      `MetalLB ${v.metallb} cp-tool`,
      () =>
        goStatic`go build -trimpath -ldflags ${metallbFlags} -o ${join(images, 'speaker', 'cp-tool')} ${`${metallb}/frr-tools/cp-tool`}`,
    ],
    [
      `MetalLB ${v.metallb} frr-metrics`,
      () =>
        goStatic`go build -trimpath -ldflags ${metallbFlags} -o ${join(images, 'speaker', 'frr-metrics')} ${`${metallb}/frr-tools/metrics`}`,
    ],
    [
      `agnhost ${agnhostTag} (k8s.io/kubernetes ${v.kubernetes}, ${AGNHOST})`,
      () =>
        goStatic`go build -trimpath -ldflags ${`-s -w -X main.Version=${agnhostTag}`} -o ${join(agnhost, 'agnhost')} ${`k8s.io/kubernetes/${AGNHOST}`}`,
    ],
  ];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (e) {
      const out = (e as { stderr?: string }).stderr ?? String(e);
      throw new Error(
        `building ${what} (Go module test/lab/components) failed:\n${out.trim().split('\n').slice(-30).join('\n')}`,
        { cause: e },
      );
    }
  }
  // As its Dockerfile: entrypoint-tester's tests run it as agnhost-2.
  await symlink('agnhost', join(agnhost, 'agnhost-2'));
  const metallbDir = await moduleDir(go, metallb, v.metallb);
  await copyFile(join(metallbDir, 'config/manifests/metallb-native.yaml'), join(work, 'metallb-native.yaml'));
  await copyFile(join(metallbDir, 'config/manifests/metallb-frr.yaml'), join(work, 'metallb-frr.yaml'));
  // The speaker's image carries FRR's reloader script; the speaker's pod copies it out.
  await copyFile(join(metallbDir, 'frr-tools/reloader/frr-reloader.sh'), join(images, 'speaker', 'frr-reloader.sh'));
  await chmod(join(images, 'speaker', 'frr-reloader.sh'), 0o755);
  await $({ quiet: true })`touch ${join(work, '.complete')}`;
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  log(`built the Kubernetes components in ${Math.round((Date.now() - started) / 1000)} s`);
}
