import type { HostRequirements } from 'vds-play/role';

/** Every built-in role runs on Debian-family hosts under systemd; each names the programs it runs beyond that. */
export const debianHost = (...commands: string[]): HostRequirements => ({
  family: 'debian',
  commands: ['systemctl', ...commands],
});
