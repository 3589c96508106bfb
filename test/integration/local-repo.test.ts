import { beforeAll, expect, it } from 'vitest';
import { describeLab, freshHosts, onHost, onHostOk } from './lab-fixture.ts';
import { REPO_PACKAGES } from '../lab/image.ts';

describeLab('offline Debian repository', () => {
  beforeAll(async () => {
    await freshHosts();
  });

  it('the base image lacks what the roles install', async () => {
    for (const pkg of REPO_PACKAGES) {
      const r = await onHost('edge', `dpkg-query -W -f='\${Status}' ${pkg}`);
      expect(r.stdout, pkg).not.toContain('install ok installed');
    }
  });

  it('apt-get installs frr and nftables for real, without internet, and they run', async () => {
    await onHostOk('edge', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q frr nftables', 120_000);
    expect(await onHostOk('edge', 'vtysh -c "show version"')).toMatch(/FRRouting/);
    expect((await onHostOk('edge', 'systemctl is-active frr')).trim()).toBe('active');
    await onHostOk('edge', 'nft add table inet probe && nft list tables && nft delete table inet probe');
  });

  it('the repository is read-only inside hosts', async () => {
    const r = await onHost('w2', 'touch /srv/debs/probe');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only file system/);
  });
});
