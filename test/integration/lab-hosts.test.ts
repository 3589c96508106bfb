import { readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { $ } from 'zx';
import { parse } from 'yaml';
import { hostNamespace } from '../lab/paths.ts';
import { describeLab, freshHosts, lab, onHost, onHostOk } from './lab-fixture.ts';

describeLab('lab hosts', () => {
  beforeAll(async () => {
    await freshHosts();
  });

  it('boots the article topology: edge, cp1, w1, w2 with their addresses and groups', () => {
    const { state } = lab();
    expect(state.hosts.map((h) => [h.name, h.address, h.groups])).toEqual([
      ['edge', '192.0.2.1', ['edge']],
      ['cp1', '192.0.2.11', ['k3s_server']],
      ['w1', '192.0.2.12', ['k3s_agent']],
      ['w2', '192.0.2.13', ['k3s_agent']],
    ]);
  });

  it('every host is a booted Debian bookworm with systemd running and sshd active, answering as itself', async () => {
    const { state } = lab();
    for (const h of state.hosts) {
      const out = await onHostOk(
        h.name,
        'hostname; . /etc/os-release; echo $VERSION_CODENAME; systemctl is-system-running; systemctl is-active ssh; ps -p 1 -o comm=; ip -4 -br addr show eth0',
      );
      const [hostname, codename, system, sshd, pid1, addr] = out.trim().split('\n');
      expect({ hostname, codename, system, sshd, pid1 }).toEqual({
        hostname: h.name,
        codename: 'bookworm',
        system: 'running',
        sshd: 'active',
        pid1: 'systemd',
      });
      expect(addr).toContain(`${h.address}/24`);
    }
  });

  it("hosts reach each other by name on the lab segment, and the lab's internet through the provider's router, their default gateway", async () => {
    await onHostOk('w1', 'ping -c1 -W2 edge && ping -c1 -W2 192.0.2.11');
    const route = await onHostOk('w1', 'ip route');
    expect(route.trim()).toBe(
      'default via 192.0.2.254 dev eth0 \n192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.12',
    );
    const { state } = lab();
    await onHostOk('w1', `ping -c1 -W2 ${state.client.address}`);
    // The client is not on the segment: it goes through the router, one hop more.
    expect(await onHostOk('w1', `ping -c1 -W2 ${state.client.address} | grep -o 'ttl=[0-9]*'`)).toBe('ttl=63\n');
  });

  it("a reset host's network namespace is as a fresh host's: what K3s and a firewall left there is gone", async () => {
    // What an earlier cluster leaves in the namespace, which outlives the host: its pod bridge
    // with that cluster's pod CIDR, a route to another node's pod CIDR, a firewall table.
    await onHostOk(
      'w2',
      [
        'ip link add cni0 type bridge && ip addr add 10.42.3.1/24 dev cni0 && ip link set cni0 up',
        'ip route add 10.42.2.0/24 via 192.0.2.12',
        'ip -6 route add 2001:db8:42::/64 via fe80::1 dev eth0',
        'sysctl -qw net.ipv4.ip_forward=1',
      ].join(' && '),
    );
    const ns = hostNamespace(lab().names, 'w2');
    await $`ip netns exec ${ns} nft add table inet leftover`;
    await freshHosts('w2');
    expect((await onHostOk('w2', 'ip -br link | cut -d" " -f1 | sed "s/@.*//"')).trim().split('\n')).toEqual([
      'lo',
      'eth0',
    ]);
    expect((await onHostOk('w2', 'ip route')).trim()).toBe(
      'default via 192.0.2.254 dev eth0 \n192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.13',
    );
    // The namespace's own kernel parameters are as a fresh host's: forwarding a role set is off.
    expect(await onHostOk('w2', 'sysctl -n net.ipv4.ip_forward')).toBe('0\n');
    expect((await onHostOk('w2', 'ip -6 route | grep -v "^fe80::/64\\|^ff00::/8" || true')).trim()).toBe('');
    expect((await $`ip netns exec ${ns} nft list ruleset`).stdout.trim()).toBe('');
  });

  it('each host has its own network namespace: a sysctl set on one host changes no other host and not the machine', async () => {
    // Compared with what is there now: another test may have set it since the last reset.
    const machineBefore = readFileSync('/proc/sys/net/ipv4/conf/all/arp_ignore', 'utf8').trim();
    const read = async (h: string) => (await onHostOk(h, 'sysctl -n net.ipv4.conf.all.arp_ignore')).trim();
    const [cp1Before, w1Before] = [await read('cp1'), await read('w1')];
    const other = w1Before === '2' ? '1' : '2';
    await onHostOk('cp1', `sysctl -w net.ipv4.conf.all.arp_ignore=${other}`);
    try {
      expect(await read('cp1')).toBe(other);
      expect(await read('w1')).toBe(w1Before);
      expect(readFileSync('/proc/sys/net/ipv4/conf/all/arp_ignore', 'utf8').trim()).toBe(machineBefore);
    } finally {
      await onHostOk('cp1', `sysctl -w net.ipv4.conf.all.arp_ignore=${cp1Before}`);
    }
  });

  it('hosts do not share process trees: stopping a service on one host leaves its namesake on another running', async () => {
    for (const h of ['w1', 'w2']) await onHostOk(h, 'systemd-run --unit=play-isolation-probe sleep 600');
    try {
      await onHostOk('w1', 'systemctl stop play-isolation-probe');
      expect((await onHost('w1', 'systemctl is-active play-isolation-probe')).stdout.trim()).toBe('inactive');
      expect((await onHostOk('w2', 'systemctl is-active play-isolation-probe')).trim()).toBe('active');
      expect((await onHostOk('w2', 'pgrep -c -f "sleep 600"')).trim()).toBe('1');
    } finally {
      await onHost('w2', 'systemctl stop play-isolation-probe');
    }
  });

  it('lab addresses live only in the lab namespaces, never on the machine', async () => {
    const { names, state } = lab();
    const machine = (await $({ quiet: true })`ip -4 -o addr`).stdout;
    for (const address of [state.controller.address, ...state.hosts.map((h) => h.address)]) {
      expect(machine).not.toContain(` ${address}/`);
    }
    const controller = await $({ quiet: true })`ip netns exec ${names.controller} ip -4 -o addr show br0`;
    expect(controller.stdout).toContain('192.0.2.254/24');
  });

  it('SSH checks host keys strictly: a host presenting another key is refused', async () => {
    const { names, state } = lab();
    const swap: Record<string, string> = { 'cp1,192.0.2.11': 'w1,192.0.2.12', 'w1,192.0.2.12': 'cp1,192.0.2.11' };
    const wrong = readFileSync(state.ssh.knownHosts, 'utf8').replace(
      /^(cp1,192\.0\.2\.11|w1,192\.0\.2\.12) /gm,
      (_, names: string) => `${swap[names]} `,
    );
    expect(wrong).not.toBe(readFileSync(state.ssh.knownHosts, 'utf8'));
    const swapped = join(names.dir, 'known_hosts.swapped');
    writeFileSync(swapped, wrong);
    const r = await $({
      quiet: true,
      nothrow: true,
    })`ip netns exec ${names.controller} ssh -F ${state.ssh.config} -o UserKnownHostsFile=${swapped} 192.0.2.11 true`;
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('a host writes into its own layer only: the shared image and the other hosts stay untouched', async () => {
    const { state, host } = lab();
    await onHostOk('w1', 'echo mine > /root/layer-probe');
    expect(readFileSync(join(host('w1').layer, 'root/layer-probe'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(host('w2').layer, 'root/layer-probe'))).toBe(false);
    expect(existsSync(join(state.image.rootfs, 'root/layer-probe'))).toBe(false);
    expect((await onHost('w2', 'test -e /root/layer-probe')).exitCode).toBe(1);
    await onHostOk('w1', 'rm /root/layer-probe');
  });

  it('state.json describes the running lab: live nspawn per host, overlay over the image, console logs', () => {
    const { state } = lab();
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(existsSync(`/run/netns/${state.controller.namespace}`)).toBe(true);
    for (const h of state.hosts) {
      expect(readFileSync(`/proc/${h.pid}/cmdline`, 'utf8')).toContain('systemd-nspawn');
      expect(existsSync(`/run/netns/${h.namespace}`)).toBe(true);
      expect(mounts).toContain(`upperdir=${h.layer}`);
      expect(mounts).toContain(`lowerdir=${state.image.rootfs}`);
      expect(statSync(h.consoleLog).size).toBeGreaterThan(0);
      expect(readFileSync(h.consoleLog, 'utf8')).toMatch(/Reached target .*Multi-User System/);
    }
  });

  it('writes an Ansible-style inventory of the hosts and how to reach them', () => {
    const { state } = lab();
    const hosts = parse(readFileSync(join(state.inventory, 'hosts.yaml'), 'utf8'));
    const vars = parse(readFileSync(join(state.inventory, 'group_vars/all.yaml'), 'utf8'));
    expect(hosts.all.children.k3s_agent.hosts).toEqual({
      w1: { ansible_host: '192.0.2.12' },
      w2: { ansible_host: '192.0.2.13' },
    });
    expect(hosts.all.children.edge.hosts.edge.ansible_host).toBe('192.0.2.1');
    expect(Object.keys(hosts.all.children.k3s_cluster.children)).toEqual(['k3s_server', 'k3s_agent']);
    expect(vars.ansible_user).toBe('root');
    expect(existsSync(vars.ansible_ssh_private_key_file)).toBe(true);
    expect(existsSync(vars.k3s_airgap_binary)).toBe(true);
  });
});
