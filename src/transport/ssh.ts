import { readFileSync } from 'node:fs';
import { keyFileProblem } from './key-file.ts';
import { homedir } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import ssh2, { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { PasswordExchange } from './become.ts';
import { hostKeyName, knownKeys, recordHostKey, verifyHostKey, type HostKeyVerdict } from './known-hosts.ts';
import {
  CommandTimeoutError,
  InterruptedError,
  UnreachableError,
  type ExecOptions,
  type ExecResult,
  type Remote,
} from './remote.ts';

/** How to reach one host, from its connection variables. */
export interface ConnectionTarget {
  host: string;
  address: string;
  port: number;
  user: string;
  privateKeyFile?: string;
  /**
   * ansible_password or -k, for hosts that take passwords only: tried after keys, and sent only
   * after the host's key was verified (ssh2 checks it during key exchange, before any login).
   */
  password?: string;
  /** Read in order; the first is where `--accept-new-host-keys` records. */
  knownHostsFiles: string[];
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** A bastion (ProxyJump) the connection goes through; same key and known hosts as the target. */
  jump?: { address: string; port: number; user: string };
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
  /** Set by `interrupt`: commands fail as interrupted, not as unreachable. */
  private cut = false;
  /** Set while `interrupt` still has to end the connection: `close` leaves that to it. */
  private ending = false;
  /** Each command in flight: how to fail it, its channel once open, its process group once known. */
  private readonly inflight = new Map<(e: Error) => void, { channel?: ClientChannel; pgid?: number }>();
  /** The jump host's connection this one goes through (ProxyJump). */
  private via?: SshConnection;
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
  static async connect(
    target: ConnectionTarget,
    options: { recordNewHostKey?: boolean; signal?: AbortSignal } = {},
  ): Promise<SshConnection> {
    if (!target.jump) return SshConnection.open(target, options);
    const { jump } = target;
    const hop = `${jump.user}@${jump.address}:${jump.port}`;
    // The password is the target's (as ansible_password is): the jump host is reached with keys.
    const via = await SshConnection.open({ ...target, ...jump, jump: undefined, password: undefined }, options).catch(
      (e: unknown) => {
        throw new UnreachableError(target.host, `jump host ${hop}: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    try {
      const conn = await SshConnection.open(target, options, await via.forward(target.address, target.port));
      conn.via = via;
      return conn;
    } catch (e) {
      via.close();
      throw e instanceof UnreachableError
        ? new UnreachableError(target.host, `${e.message} (through jump host ${hop})`)
        : e;
    }
  }

  /** One SSH connection, over TCP or over a channel of a jump host's connection (`sock`). */
  private static open(
    target: ConnectionTarget,
    options: { recordNewHostKey?: boolean; signal?: AbortSignal },
    sock?: Duplex,
  ): Promise<SshConnection> {
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
      privateKey: readKey(target, Boolean(process.env.SSH_AUTH_SOCK)),
      ...(sock ? { sock } : {}),
      ...(target.password === undefined
        ? {}
        : {
            password: target.password,
            tryKeyboard: true,
            // OpenSSH's order: keys first, then the password, as `password` or as the
            // keyboard-interactive prompt Debian's sshd (KbdInteractiveAuthentication) shows.
            authHandler: ['none', 'publickey', 'agent', 'password', 'keyboard-interactive'],
          }),
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
    if (types.length > 0)
      config.algorithms = { serverHostKey: types as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
    return new Promise((resolve, reject) => {
      const fail = (e: Error): void => {
        options.signal?.removeEventListener('abort', abort);
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.destroy(); // also a handshake still under way, which end() would wait out
        reject(
          new UnreachableError(
            target.host,
            refusal ?? `cannot connect to ${target.user}@${target.address}:${target.port}: ${e.message}`,
          ),
        );
      };
      const abort = (): void => fail(new Error('not needed any more'));
      options.signal?.addEventListener('abort', abort, { once: true });
      client.once('error', fail);
      // Hidden prompts (the password's) are answered with it; a visible one is not a password.
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) =>
        finish(prompts.map((p) => (p.echo ? '' : (target.password ?? '')))),
      );
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
      // every command after the first 45 ms instead of 5 (bench/RESULTS.md). Through a jump host
      // the jump's own TCP connection carries it.
      if (!sock) client.setNoDelay(true);
    });
  }

  /** A TCP connection from this host onwards (this host as a jump host). */
  private forward(address: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, address, port, (err, stream) =>
        err
          ? reject(
              new UnreachableError(this.host, `cannot reach ${address}:${port} from the jump host: ${err.message}`),
            )
          : resolve(stream),
      );
    });
  }

  /** The run takes this connection: a new host key it accepted is recorded now. */
  adopt(): this {
    this.via?.adopt();
    this.unrecordedHostKey?.();
    this.unrecordedHostKey = undefined;
    return this;
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) return Promise.reject(this.closedError());
    const timeoutMs = options.timeoutMs ?? this.target.commandTimeoutMs;
    return new Promise<ExecResult>((resolve, reject) => {
      const slot: { channel?: ClientChannel; pgid?: number } = {};
      const done = (e?: Error, r?: ExecResult): void => {
        clearTimeout(timer);
        this.inflight.delete(done);
        if (e) reject(e);
        else if (r) resolve(r);
      };
      const timer = setTimeout(() => {
        slot.channel?.close();
        done(new CommandTimeoutError(this.host, timeoutMs));
      }, timeoutMs);
      this.inflight.set(done, slot);
      // The shell sshd starts leads its own process group (sshd calls setsid): its pid, printed
      // first on stderr, is what `interrupt` kills. sshd ignores a channel's signal request for
      // root's sessions, so this is the one way to stop a command that is cut.
      this.client.exec(`echo $$ >&2; ${command}`, (err, stream) => {
        if (err) return done(this.closed ? this.closedError() : err);
        slot.channel = stream;
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let exitCode = 255;
        const exchange = options.gate && new PasswordExchange(options.gate);
        const ownStderr = (): string => {
          const text = Buffer.concat(errOut).toString('utf8');
          return text.slice(text.indexOf('\n') + 1);
        };
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => {
          errOut.push(d);
          if (slot.pgid === undefined && d.includes(10))
            slot.pgid = Number(Buffer.concat(errOut).toString('utf8').split('\n', 1)[0]);
          // Watched until settled only: a long stderr is not read again with every chunk.
          if (!exchange || exchange.settled || slot.pgid === undefined) return;
          const step = exchange.step(ownStderr());
          if (step === 'answer') stream.write(`${options.gate?.password ?? ''}\n`);
          else if (step === 'open') stream.end(options.stdin ?? undefined);
          else if (step === 'give-up') stream.end();
        });
        stream.on('exit', (code: number | null) => (exitCode = code ?? 255));
        stream.on('close', () => {
          const stderr = ownStderr();
          done(undefined, {
            exitCode,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: exchange ? exchange.stderr(stderr) : stderr,
          });
        });
        // A command that asks for a password gets its stdin once it runs (the exchange above).
        if (!exchange) stream.end(options.stdin ?? undefined);
      });
    });
  }

  /**
   * Cuts every command in flight and closes the connection: the run was told to stop and its
   * grace is over. Each command's process group gets SIGTERM through one more command on this
   * connection (if it still answers within a second), then the connection ends. A file write
   * cut this way leaves the old file (src/resources/file.ts verifies what arrived before the rename).
   */
  interrupt(): void {
    if (this.cut) return;
    this.cut = true;
    const slots = [...this.inflight];
    const groups = slots.map(([, s]) => s.pgid).filter((g): g is number => Number.isInteger(g) && (g ?? 0) > 1);
    const wasOpen = !this.closed;
    this.closed ??= 'the run was stopped';
    for (const [fail] of slots) fail(new InterruptedError(this.host));
    // The kill must go out before the connection ends: the run's close() (which follows at once,
    // as the failed commands end the run) leaves ending it to `end`, after the kill has answered.
    this.ending = true;
    const end = (): void => {
      clearTimeout(deadline);
      for (const [, { channel }] of slots) channel?.close();
      this.client.end();
      this.via?.close();
    };
    const deadline = setTimeout(() => this.client.destroy(), 1000);
    if (!wasOpen || groups.length === 0) return end();
    this.client.exec(`kill -TERM ${groups.map((g) => `-${g}`).join(' ')} 2>/dev/null; true`, (err, stream) => {
      if (err) return end();
      stream.on('close', end);
      stream.resume();
      stream.stderr.resume();
    });
  }

  close(): void {
    this.closed ??= 'connection closed by play';
    // The run ends as soon as its cut commands fail; the kill still under way ends the connection.
    if (!this.ending) this.client.end();
    this.via?.close();
  }

  private lost(reason: string): void {
    if (this.closed) return;
    this.closed = `connection to ${this.target.address} lost: ${reason}`;
    for (const fail of [...this.inflight.keys()]) fail(this.closedError());
  }

  private closedError(): Error {
    return this.cut
      ? new InterruptedError(this.host)
      : new UnreachableError(this.host, this.closed ?? 'connection closed');
  }
}

/**
 * The private key to offer, as OpenSSH picks it: the inventory's key file, else the first of the
 * default keys that can be used without a passphrase (a passphrase-protected one is left to
 * ssh-agent, as ssh would ask for it). A key others can read is refused, as OpenSSH does.
 */
function readKey(target: ConnectionTarget, agent: boolean): Buffer | undefined {
  if (target.privateKeyFile) {
    const key = keyFile(target.privateKeyFile);
    if (key.problem && !(key.encrypted && agent)) throw new UnreachableError(target.host, key.problem);
    return key.problem ? undefined : key.content;
  }
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const key = keyFile(join(homedir(), '.ssh', name));
    if (key.content && !key.problem) return key.content;
  }
  return undefined;
}

function keyFile(file: string): { content?: Buffer; problem?: string; encrypted?: boolean } {
  const problem = keyFileProblem(file);
  if (problem) return { problem };
  const content = readFileSync(file);
  // ssh2's `utils` is not among the named exports Node finds in this CommonJS module.
  const parsed = ssh2.utils.parseKey(content);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    return {
      content,
      encrypted,
      problem: encrypted
        ? `private key file ${file} is passphrase-protected: add it to ssh-agent (ssh-add ${file})`
        : `private key file ${file} cannot be read as a private key: ${parsed.message}`,
    };
  }
  return { content };
}

function hostKeyRefusal(name: string, v: Exclude<HostKeyVerdict, { ok: true }>, files: string[]): string {
  const where = files.join(', ');
  if (v.reason === 'changed')
    return `host key for ${name} CHANGED (now ${v.type} ${v.fingerprint}); refusing to connect. If the host was rebuilt, remove its old entry from ${where}`;
  if (v.reason === 'revoked') return `host key for ${name} (${v.type} ${v.fingerprint}) is revoked in ${where}`;
  return `unknown host key for ${name}: ${v.type} ${v.fingerprint}; not in ${where}. Verify it and rerun with --accept-new-host-keys to record it`;
}
