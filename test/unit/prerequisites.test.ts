import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { requirementsCommand, requirementsProblem } from '../../src/engine/prerequisites.ts';

const DEBIAN = { family: 'debian' as const, commands: ['systemctl', 'apt-get'] };

describe('host prerequisites', () => {
  it("reads /etc/os-release's ID and ID_LIKE: Debian and Ubuntu pass, others are named", () => {
    expect(requirementsProblem(DEBIAN, 'os debian||Debian GNU/Linux 12 (bookworm)\n')).toBeUndefined();
    expect(requirementsProblem(DEBIAN, 'os ubuntu|debian|Ubuntu 24.04.1 LTS\n')).toBeUndefined();
    expect(requirementsProblem(DEBIAN, 'os rocky|rhel centos fedora|Rocky Linux 9.4 (Blue Onyx)\n')).toBe(
      "not a Debian-family host (Rocky Linux 9.4 (Blue Onyx)): play's roles install with apt and dpkg and run under systemd; use Debian 12 or Ubuntu 22.04 or later",
    );
    expect(requirementsProblem(DEBIAN, 'os ||\n')).toMatch(/^not a Debian-family host \(no \/etc\/os-release\)/);
  });
  it('names every missing program, after the family', () => {
    expect(requirementsProblem(DEBIAN, 'os alpine||Alpine Linux v3.20\nmissing systemctl\nmissing apt-get\n')).toBe(
      "not a Debian-family host (Alpine Linux v3.20): play's roles install with apt and dpkg and run under systemd; use Debian 12 or Ubuntu 22.04 or later; missing systemctl, apt-get on the PATH the roles' commands run with",
    );
  });
  it('the command reads a real host as the parser expects (this machine)', () => {
    const out = execFileSync('/bin/sh', ['-c', requirementsCommand({ commands: ['sh', 'play-no-such-program'] })], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/^os \S*\|/);
    expect(requirementsProblem({ commands: ['sh', 'play-no-such-program'] }, out)).toBe(
      "missing play-no-such-program on the PATH the roles' commands run with",
    );
  });
});
