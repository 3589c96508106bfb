/**
 * `ansible_ssh_common_args` and `ansible_ssh_extra_args` as play understands them: the OpenSSH
 * options that change how play connects. Anything else is refused, never silently ignored: an
 * option the user relies on (a bastion, a port) must not quietly do nothing.
 */
export interface SshArgs {
  /** `UserKnownHostsFile`: read before ~/.ssh/known_hosts; where --accept-new-host-keys records. */
  knownHostsFile?: string;
  /** `ProxyJump`/`-J`: `[user@]host[:port]`, the bastion the connection goes through. */
  proxyJump?: string;
  /** `StrictHostKeyChecking`: `accept-new` records unknown keys; play never accepts a changed one. */
  strictHostKeyChecking?: 'yes' | 'accept-new';
  /** `ConnectTimeout`, seconds. */
  connectTimeout?: number;
  /** `IdentityFile`/`-i`. */
  identityFile?: string;
  /** `Port`/`-p`. */
  port?: number;
  /** `User`/`-l`. */
  user?: string;
}

/** OpenSSH options play honours (case as ssh_config writes them), and options it safely ignores. */
const OPTIONS: Record<string, (args: SshArgs, value: string) => string | undefined> = {
  userknownhostsfile: (a, v) => void (a.knownHostsFile = v),
  proxyjump: (a, v) => (v.toLowerCase() === 'none' ? undefined : jumpSpec(a, v)),
  stricthostkeychecking: (a, v) => {
    const mode = v.toLowerCase();
    if (mode === 'yes' || mode === 'ask') a.strictHostKeyChecking = 'yes';
    else if (mode === 'accept-new') a.strictHostKeyChecking = 'accept-new';
    else return `StrictHostKeyChecking=${v}: play always checks host keys (yes, or accept-new to record unknown ones)`;
    return undefined;
  },
  connecttimeout: (a, v) => number(v, 'ConnectTimeout', (n) => (a.connectTimeout = n)),
  identityfile: (a, v) => void (a.identityFile = v),
  port: (a, v) => number(v, 'Port', (n) => (a.port = n), 65535),
  user: (a, v) => void (a.user = v),
  // Connection sharing and the like: play keeps one connection per host anyway.
  controlmaster: () => undefined,
  controlpersist: () => undefined,
  controlpath: () => undefined,
  identitiesonly: () => undefined,
  serveraliveinterval: () => undefined,
  serveralivecountmax: () => undefined,
  loglevel: () => undefined,
};

const FLAGS: Record<string, string> = { '-J': 'proxyjump', '-i': 'identityfile', '-p': 'port', '-l': 'user' };

function number(v: string, name: string, set: (n: number) => void, max = Infinity): string | undefined {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    return `${name}=${v}: expected a whole number from 1${max < Infinity ? ` to ${max}` : ''}`;
  set(n);
  return undefined;
}

function jumpSpec(a: SshArgs, v: string): string | undefined {
  if (v.includes(',')) return `ProxyJump=${v}: play goes through one jump host, not a chain`;
  if (!/^([A-Za-z0-9._-]+@)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(v))
    return `ProxyJump=${v}: expected [user@]host[:port]`;
  a.proxyJump = v;
  return undefined;
}

/** Splits like a shell: whitespace separates, quotes group. */
function words(text: string): string[] {
  return [...text.matchAll(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)].map((m) => m[0].replace(/"([^"]*)"|'([^']*)'/g, '$1$2'));
}

/** Parses ssh's command-line options; `problems` says what play cannot honour. */
export function parseSshArgs(text: string): { args: SshArgs; problems: string[] } {
  const args: SshArgs = {};
  const problems: string[] = [];
  const apply = (key: string, value: string | undefined): void => {
    const handler = OPTIONS[key.toLowerCase()];
    if (!handler)
      return void problems.push(
        `ssh option ${key} is not supported by play (it honours UserKnownHostsFile, ProxyJump/-J, StrictHostKeyChecking, ConnectTimeout, IdentityFile/-i, Port/-p, User/-l; it ignores Control*, IdentitiesOnly, ServerAlive*, LogLevel)`,
      );
    if (value === undefined || value === '') return void problems.push(`ssh option ${key} has no value`);
    const problem = handler(args, value);
    if (problem) problems.push(problem);
  };
  const list = words(text);
  for (let i = 0; i < list.length; i++) {
    const word = list[i] ?? '';
    if (word.startsWith('-o')) {
      const option = word.length > 2 ? word.slice(2) : (list[++i] ?? '');
      // `-o Key=Value`, `-o "Key Value"`, or `-o Key Value`.
      const split = /^([^=\s]+)(?:=|\s+)(.*)$/s.exec(option);
      if (split) apply(split[1] ?? '', split[2]);
      else apply(option, list[++i]);
    } else if (FLAGS[word.slice(0, 2)] !== undefined) {
      apply(FLAGS[word.slice(0, 2)] ?? '', word.length > 2 ? word.slice(2) : list[++i]);
    } else {
      problems.push(`ssh argument "${word}" is not supported by play (it takes -o Option=value, -J, -i, -p, -l)`);
    }
  }
  return { args, problems };
}
