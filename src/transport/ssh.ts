import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { hostKeyName, knownKeys, recordHostKey, verifyHostKey, type HostKeyVerdict } from './known-hosts.ts';
import { CommandTimeoutError, UnreachableError, type ExecOptions, type ExecResult, type Remote } from './remote.ts';

/** How to reach one host, from its connection variables. */
export interface ConnectionTarget {
  host: string;
  address: string;
  port: number;
  user: string;
  privateKeyFile?: string;
  /** Read in order; the first is where `--accept-new-host-keys` records. */
  knownHostsFiles: string[];
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * One SSH connection per host for the whole run; every command is a new channel on it.
 * A dropped connection fails every command in flight as "unreachable".
 */
export class SshConnection implements Remote {
  private closed?: string;
  private readonly inflight = new Set<(e: Error) => void>();
  /** A new host key accepted with --accept-new-host-keys, recorded once the run takes the connection. */
  private unrecordedHostKey?: () => void;

  private constructor(
    private readonly client: Client,
    readonly target: ConnectionTarget,
  ) {
    client.on('close', () => this.lost('connection closed'));
    client.on('error', (e) => this.lost(e.message));
  }

  get host(): string {
    return this.target.host;
  }

  /**
   * Opens the connection. A new host key accepted with --accept-new-host-keys is recorded at once,
   * or (`recordNewHostKey: false`, for a connection opened before the input is known to be good)
   * when `adopt` is called.
   */
  static connect(target: ConnectionTarget, options: { recordNewHostKey?: boolean; signal?: AbortSignal } = {}): Promise<SshConnection> {
    const client = new Client();
    const name = hostKeyName(target.address, target.port);
    const known = knownKeys(target.knownHostsFiles, name);
    let refusal: string | undefined;
    let record: (() => void) | undefined;
    const config: ConnectConfig = {
      host: target.address,
      port: target.port,
      username: target.user,
      readyTimeout: target.connectTimeoutMs,
      keepaliveInterval: Math.max(500, Math.floor(target.connectTimeoutMs / 3)),
      keepaliveCountMax: 3,
      agent: process.env.SSH_AUTH_SOCK,
      privateKey: readKey(target),
      hostVerifier: (key: Buffer) => {
        const verdict = verifyHostKey(known, key);
        if (verdict.ok) return true;
        const file = target.knownHostsFiles[0];
        if (verdict.reason === 'unknown' && target.acceptNewHostKeys && file) {
          if (options.recordNewHostKey === false) record = () => recordHostKey(file, name, key);
          else recordHostKey(file, name, key);
          return true;
        }
        refusal = hostKeyRefusal(name, verdict, target.knownHostsFiles);
        return false;
      },
    };
    // Offer only the key types we already know for this host, so a known host is checked against
    // the key we have instead of negotiating a type we have never seen (a false "changed").
    const types = [...new Set(known.filter((k) => !k.revoked).flatMap((k) => HOST_KEY_ALGORITHMS[k.type] ?? []))];
    if (types.length > 0) config.algorithms = { serverHostKey: types as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
    return new Promise((resolve, reject) => {
      const fail = (e: Error): void => {
        options.signal?.removeEventListener('abort', abort);
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.destroy(); // also a handshake still under way, which end() would wait out
        reject(new UnreachableError(target.host, refusal ?? `cannot connect to ${target.user}@${target.address}:${target.port}: ${e.message}`));
      };
      const abort = (): void => fail(new Error('not needed any more'));
      options.signal?.addEventListener('abort', abort, { once: true });
      client.once('error', fail);
      client.once('ready', () => {
        options.signal?.removeEventListener('abort', abort);
        client.removeListener('error', fail);
        const conn = new SshConnection(client, target);
        conn.unrecordedHostKey = record;
        resolve(conn);
      });
      client.connect(config);
      // Without TCP_NODELAY, a small SSH packet sent right after another waits for its ACK, which
      // the host delays by up to 40 ms: measured here, a handshake took 145 ms instead of 70, and
      // every command after the first 45 ms instead of 5 (bench/RESULTS.md).
      client.setNoDelay(true);
    });
  }

  /** The run takes this connection: a new host key it accepted is recorded now. */
  adopt(): this {
    this.unrecordedHostKey?.();
    this.unrecordedHostKey = undefined;
    return this;
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new UnreachableError(this.host, this.closed));
    const timeoutMs = options.timeoutMs ?? this.target.commandTimeoutMs;
    return new Promise<ExecResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      const done = (e?: Error, r?: ExecResult): void => {
        clearTimeout(timer);
        this.inflight.delete(done);
        if (e) reject(e);
        else if (r) resolve(r);
      };
      const timer = setTimeout(() => {
        channel?.close();
        done(new CommandTimeoutError(this.host, timeoutMs));
      }, timeoutMs);
      this.inflight.add(done);
      this.client.exec(command, (err, stream) => {
        if (err) return done(this.closed ? new UnreachableError(this.host, this.closed) : err);
        channel = stream;
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let exitCode = 255;
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.on('exit', (code: number | null) => (exitCode = code ?? 255));
        stream.on('close', () => done(undefined, { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') }));
        stream.end(options.stdin ?? undefined);
      });
    });
  }

  close(): void {
    this.closed ??= 'connection closed by play';
    this.client.end();
  }

  private lost(reason: string): void {
    if (this.closed) return;
    this.closed = `connection to ${this.target.address} lost: ${reason}`;
    for (const fail of [...this.inflight]) fail(new UnreachableError(this.host, this.closed));
  }
}

function readKey(target: ConnectionTarget): Buffer | undefined {
  const candidates = target.privateKeyFile ? [target.privateKeyFile] : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f));
  const file = candidates.find((f) => existsSync(f));
  if (target.privateKeyFile && !file) throw new UnreachableError(target.host, `private key file ${target.privateKeyFile} does not exist`);
  return file ? readFileSync(file) : undefined;
}

function hostKeyRefusal(name: string, v: Exclude<HostKeyVerdict, { ok: true }>, files: string[]): string {
  const where = files.join(', ');
  if (v.reason === 'changed') return `host key for ${name} CHANGED (now ${v.type} ${v.fingerprint}); refusing to connect. If the host was rebuilt, remove its old entry from ${where}`;
  if (v.reason === 'revoked') return `host key for ${name} (${v.type} ${v.fingerprint}) is revoked in ${where}`;
  return `unknown host key for ${name}: ${v.type} ${v.fingerprint}; not in ${where}. Verify it and rerun with --accept-new-host-keys to record it`;
}
