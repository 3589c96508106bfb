import type { Components } from './components.ts';
import type { FrrImage } from './frr-image.ts';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { statePath, type LabNames } from './paths.ts';

export interface HostState {
  name: string;
  address: string;
  groups: string[];
  /** Network namespace the host lives in. */
  namespace: string;
  /** pid of the host's systemd-nspawn. */
  pid: number;
  /** The host's writable layer: exactly what the host changed on its disk. */
  layer: string;
  /** The host's merged root filesystem as seen from the machine. */
  root: string;
  consoleLog: string;
}

/** `.lab/state.json`: how tests, the benchmark and users find the lab. */
export interface LabState {
  lab: string;
  createdAt: string;
  controller: { namespace: string; address: string; bridge: string };
  /** The client on the lab's internet, beyond the provider's router (the controller). */
  client: { namespace: string; address: string; router: string };
  subnet: string;
  image: { key: string; rootfs: string; repo: string };
  ssh: { user: string; privateKey: string; knownHosts: string; config: string };
  /** The K3s-shaped shell the k3s role installs through its airgap path (components.ts). */
  k3sStandin: string;
  components: Components;
  /** What stands in for FRR's image (frr-image.ts). */
  frrImage: FrrImage;
  inventory: string;
  hosts: HostState[];
}

export async function writeState(names: LabNames, state: LabState): Promise<void> {
  await writeFile(statePath(names), `${JSON.stringify(state, null, 2)}\n`);
}

export function readState(names: LabNames): LabState | undefined {
  const file = statePath(names);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LabState) : undefined;
}
