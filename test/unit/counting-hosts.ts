import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

const root = join(import.meta.dirname, '../..');

export interface PlayResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A TCP listener standing in for every host of example-bgp: it counts connections and never
 * answers. Registered for the calling test file's lifetime.
 */
export function countingHosts(): {
  /** example-bgp with every host at the listener, then changed by `prepare`. */
  inventoryWith: (prepare: (dir: string) => void) => string;
  /**
   * `play site.yaml ARGS` (`play doctor ARGS` when ARGS starts with `doctor`), run while this
   * process keeps accepting (and so counting) connections.
   */
  play: (args: string[], env?: Record<string, string>) => Promise<PlayResult>;
  connections: () => number;
} {
  let server: Server | undefined;
  let port = 0;
  let count = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      count++;
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => void server?.close());

  const inventoryWith = (prepare: (dir: string) => void): string => {
    const dir = mkdtempSync(join(tmpdir(), 'play-bad-'));
    cpSync(join(root, 'inventory/example-bgp'), dir, { recursive: true });
    const hosts = join(dir, 'hosts.yaml');
    writeFileSync(
      hosts,
      readFileSync(hosts, 'utf8').replace(/ansible_host: 192\.0\.2\.\d+/g, 'ansible_host: 127.0.0.1'),
    );
    const vars = join(dir, 'group_vars/all.yaml');
    writeFileSync(vars, `${readFileSync(vars, 'utf8')}\nansible_port: ${port}\nansible_timeout: 1\n`);
    prepare(dir);
    return dir;
  };

  const play = async (args: string[], env: Record<string, string> = {}): Promise<PlayResult> => {
    const argv = args[0] === 'doctor' ? args : ['site.yaml', ...args];
    const child = spawn(process.execPath, [join(root, 'bin/play.mjs'), ...argv], {
      cwd: root,
      timeout: 60_000,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Connections the kernel took while play ran are accepted on the next turns of the loop.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { code, stderr, stdout };
  };

  return { inventoryWith, play, connections: () => count };
}
