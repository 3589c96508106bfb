import { mkdir, writeFile } from 'node:fs/promises';
import { ensureImage } from './image.ts';
import { createController, createHostNetwork, writeControllerEtc } from './network.ts';
import { bootHost, prepareHost } from './host.ts';
import { ensureLabKey, sshConfig, writeKnownHosts } from './ssh-keys.ts';
import { waitForHosts } from './readiness.ts';
import { teardown } from './teardown.ts';
import { writeState, type LabState } from './state.ts';
import { writeInventory } from './inventory.ts';
import { ensureComponents } from './components.ts';
import { ensureFrrImage } from './frr-image.ts';
import { raiseInotifyLimit } from './machine-limits.ts';
import {
  clientNamespace,
  hostNamespace,
  hostPaths,
  knownHostsPath,
  labKeyPath,
  sshConfigPath,
  type LabNames,
} from './paths.ts';
import { INTERNET, type Topology } from './topology.ts';

export interface UpOptions {
  topology: Topology;
  /** How long all hosts together may take to boot; scale it with the host count. */
  timeoutMs: number;
  /** Leave a failed lab in place for inspection instead of tearing it down. */
  keepOnFailure?: boolean;
  log: (msg: string) => void;
}

/** Boots the lab from scratch (tearing down any earlier instance first) and returns its state. */
export async function up(names: LabNames, opts: UpOptions): Promise<LabState> {
  await teardown(names);
  try {
    return await boot(names, opts);
  } catch (error) {
    if (!opts.keepOnFailure) {
      opts.log('boot failed; tearing the lab down');
      await teardown(names);
    }
    throw error;
  }
}

async function boot(names: LabNames, { topology, timeoutMs, log }: UpOptions): Promise<LabState> {
  await mkdir(names.dir, { recursive: true });
  raiseInotifyLimit(topology.hosts.length, log);
  // On a fresh machine these take minutes each: debootstrap waits on the mirror and the disk, Go
  // on the module proxy and the CPU, so they overlap. One failing lets the others finish: their
  // caches are whole for the next run, and nothing builds on behind the failure.
  const [image, components, frrImage] = settledAll(
    await Promise.allSettled([ensureImage(log), ensureComponents(log), ensureFrrImage(log)] as const),
  );
  const labPublicKey = await ensureLabKey(names);
  const config = sshConfig(names);
  await writeFile(sshConfigPath(names), config);
  await createController(names, topology);
  await writeControllerEtc(names, topology, config);

  log(`preparing ${topology.hosts.length} hosts`);
  const hostKeys = new Map<string, string>();
  await Promise.all(
    topology.hosts.map(async (host) => {
      await createHostNetwork(names, host, topology.controller);
      hostKeys.set(host.name, await prepareHost(names, image, topology, host, labPublicKey));
    }),
  );
  await writeKnownHosts(names, topology.hosts, hostKeys);

  const hosts = await Promise.all(
    topology.hosts.map(async (host) => {
      const p = hostPaths(names, host.name);
      return {
        ...host,
        namespace: hostNamespace(names, host.name),
        pid: await bootHost(names, image, components, frrImage, host),
        layer: p.upper,
        root: p.root,
        consoleLog: p.console,
      };
    }),
  );
  const state: LabState = {
    lab: names.lab,
    createdAt: new Date().toISOString(),
    controller: { namespace: names.controller, address: topology.controller, bridge: 'br0' },
    client: { namespace: clientNamespace(names), address: INTERNET.client, router: INTERNET.router },
    subnet: topology.subnet,
    image,
    ssh: {
      user: 'root',
      privateKey: labKeyPath(names),
      knownHosts: knownHostsPath(names),
      config: sshConfigPath(names),
    },
    k3sStandin: components.k3s,
    components,
    frrImage,
    inventory: names.inventoryDir,
    hosts,
  };
  // Written before waiting, so a lab that hangs in boot can be inspected and torn down.
  await writeState(names, state);
  await writeInventory(names.inventoryDir, topology, {
    privateKey: state.ssh.privateKey,
    knownHosts: state.ssh.knownHosts,
    k3sStandin: components.k3s,
    metallbManifest: components.metallbManifest,
  });

  log(`booting; waiting up to ${Math.round(timeoutMs / 1000)} s for SSH and systemd on every host`);
  await waitForHosts(names, hosts, timeoutMs, log);
  return state;
}

/** The values of settled promises, or the first failure. */
function settledAll<T extends readonly unknown[]>(results: { [K in keyof T]: PromiseSettledResult<T[K]> }): T {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Boot time grows with host count on two cores; this keeps the default honest for 32 hosts. */
export function defaultTimeoutMs(hostCount: number): number {
  return (60 + 5 * hostCount) * 1000;
}
