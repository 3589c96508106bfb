import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { lab } from './lab-fixture.ts';

export interface UpstreamRouter {
  address: string;
  asn: number;
  /** The prefixes this router has received from the edge (its BGP table, read with vtysh). */
  received(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A provider's router for tests: FRR's bgpd (from the lab's FRR image) in the lab controller's
 * network namespace, which the edge peers with as its upstream. It runs in a mount namespace of
 * its own over a throwaway overlay of the image, so the image's cache is never written; it ends
 * with its process.
 */
export async function startUpstreamRouter(
  asn: number,
  edge: { address: string; asn: number },
): Promise<UpstreamRouter> {
  const { names, state } = lab();
  const address = state.controller.address;
  const image = state.frrImage.root;
  const config = [
    'frr defaults traditional',
    `router bgp ${asn}`,
    ` bgp router-id ${address}`,
    ' no bgp ebgp-requires-policy',
    ` neighbor ${edge.address} remote-as ${edge.asn}`,
    '',
  ].join('\n');
  const script = [
    'set -e',
    'd=$(mktemp -d /tmp/play-upstream-XXXXXX)',
    'mkdir "$d/upper" "$d/work" "$d/root"',
    `mount -t overlay overlay -o lowerdir=${image},upperdir="$d/upper",workdir="$d/work" "$d/root"`,
    'mount -t proc proc "$d/root/proc"',
    'mount -t tmpfs tmpfs "$d/root/run"',
    'mkdir -p "$d/root/run/frr"',
    'chroot "$d/root" chown frr:frr /run/frr',
    `printf '%s' '${config}' > "$d/root/etc/frr/bgpd.conf"`,
    'echo "$d" >&2',
    // -Z: no zebra (nothing to install in a kernel); bgpd runs as the image's frr user.
    'exec chroot "$d/root" /usr/lib/frr/bgpd -Z -f /etc/frr/bgpd.conf -i /run/frr/bgpd.pid --vty_socket /run/frr',
  ].join('\n');
  const child = spawn(
    'ip',
    ['netns', 'exec', names.controller, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const root = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const line = err.split('\n')[0] ?? '';
      if (err.includes('\n') && line.startsWith('/tmp/play-upstream-')) resolve(`${line}/root`);
    });
    child.on('exit', (code) => reject(new Error(`the upstream router's bgpd exited (${code}): ${err.trim()}`)));
  });
  const vtysh = (command: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const q = spawn(
        'nsenter',
        [
          '-t',
          String(child.pid),
          '-m',
          '-n',
          'chroot',
          root,
          'vtysh',
          '--vty_socket',
          '/run/frr',
          '-d',
          'bgpd',
          '-c',
          command,
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      q.stdout.on('data', (d: Buffer) => (out += d.toString()));
      q.stderr.on('data', (d: Buffer) => (err += d.toString()));
      q.on('close', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`vtysh -c '${command}' exited ${code}: ${err.trim()}`)),
      );
    });
  return {
    address,
    asn,
    received: async () =>
      Object.keys(
        (JSON.parse(await vtysh('show bgp ipv4 unicast json')) as { routes?: Record<string, unknown> }).routes ?? {},
      ),
    stop: async () => {
      await stopProcess(child);
      rmSync(dirname(root), { recursive: true, force: true });
    },
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
