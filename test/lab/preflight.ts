import { spawnSync } from 'node:child_process';

/** Tools the lab runs on the machine; `.ci/run` and README's set-up install them. */
const REQUIRED_TOOLS = ['systemd-nspawn', 'debootstrap', 'dpkg-scanpackages', 'ip', 'ssh', 'ssh-keygen', 'mount'];

/** Why this machine cannot run the lab, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the lab needs root (namespaces, mounts, systemd-nspawn)';
  const missing = REQUIRED_TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0)
    return `missing ${missing.join(', ')} (apt-get install systemd-container debootstrap dpkg-dev iproute2 openssh-client)`;
  return undefined;
}

export function requireLabMachine(): void {
  const reason = labUnavailableReason();
  if (reason) throw new Error(`this machine cannot run the lab: ${reason}`);
}
