import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the project checkout; the lab keeps its per-checkout state beside the code. */
export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Machine-wide cache for base images: shared by every checkout so a second `lab:up` is fast. */
export const imageCacheDir = process.env.PLAY_LAB_CACHE ?? '/var/cache/play-lab';

export const DEFAULT_LAB = 'lab';

/** Everything one lab instance owns is named after it, so teardown can find it without state. */
export interface LabNames {
  lab: string;
  /** Directory holding state.json, the lab key, known_hosts and the hosts' writable layers. */
  dir: string;
  /** Controller network namespace; the engine and the tests run in it. */
  controller: string;
  /** Prefix of every host network namespace and nspawn machine name of this lab. */
  hostPrefix: string;
  inventoryDir: string;
}

const LAB_NAME = /^[a-z][a-z0-9-]{0,11}$/;

export function labNames(lab: string = DEFAULT_LAB): LabNames {
  if (!LAB_NAME.test(lab)) {
    throw new Error(`lab name ${JSON.stringify(lab)}: expected 1-12 characters of [a-z0-9-], starting with a letter`);
  }
  const dir = join(projectRoot, lab === DEFAULT_LAB ? '.lab' : `.lab-${lab}`);
  return {
    lab,
    dir,
    controller: `plab-${lab}`,
    hostPrefix: `plab-${lab}.`,
    inventoryDir: join(projectRoot, 'inventory', lab === DEFAULT_LAB ? 'lab' : `lab-${lab}`),
  };
}

export interface HostPaths {
  home: string;
  upper: string;
  work: string;
  root: string;
  console: string;
}

export function hostPaths(names: LabNames, host: string): HostPaths {
  const home = join(names.dir, 'hosts', host);
  return {
    home,
    upper: join(home, 'upper'),
    work: join(home, 'work'),
    root: join(home, 'root'),
    console: join(home, 'console.log'),
  };
}

export const hostNamespace = (names: LabNames, host: string): string => `${names.hostPrefix}${host}`;
/**
 * The client on the lab's internet (test/lab/README.md): a namespace of the host prefix, so
 * teardown finds it by name, under a name no host can have.
 */
export const clientNamespace = (names: LabNames): string => `${names.hostPrefix}_client`;
export const labKeyPath = (names: LabNames): string => join(names.dir, 'id_ed25519');
export const knownHostsPath = (names: LabNames): string => join(names.dir, 'known_hosts');
export const statePath = (names: LabNames): string => join(names.dir, 'state.json');
/** `ip netns exec` bind-mounts each entry of this folder over /etc: hosts and ssh config for the controller. */
export const netnsEtcDir = (names: LabNames): string => join('/etc/netns', names.controller);
export const sshConfigPath = (names: LabNames): string => join(names.dir, 'ssh_config');
