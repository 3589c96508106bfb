import { inSections, q, sectionsOf } from '../transport/shell.ts';
import { fileResource } from './file.ts';
import { fileProbeCommand } from './file-state.ts';
import type { Remote } from '../transport/remote.ts';
import { ResourceError, runOrFail, type Change, type Resource } from './types.ts';

export interface SysctlSpec {
  /** The persisted file, e.g. `/etc/sysctl.d/99-k3s-metallb.conf`; applied at boot by systemd-sysctl. */
  file: string;
  values: Record<string, string | number | boolean>;
}

const MARK = '@@play-sysctl-live@@';

/**
 * Kernel parameters, both persisted in a file and set live. The live value is read back after
 * writing: a value the kernel refuses or rewrites fails, naming the key.
 */
export function sysctlResource(spec: SysctlSpec): Resource {
  const wanted = Object.entries(spec.values).map(([k, v]) => [k, render(v)] as const);
  // A key never starts with "-" (sysctl(8) would take it as an option, e.g. -p/etc/shadow).
  for (const [key] of wanted)
    if (!/^[a-z0-9_][a-z0-9_.\-/]*$/i.test(key)) throw new ResourceError(`invalid sysctl key "${key}"`);
  const content = `# Managed by play: changes here are overwritten.\n${wanted.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
  const file = fileResource({ path: spec.file, content, mode: '0644', owner: 'root', group: 'root' });
  // One process for all keys: this is read on every rerun. A key the kernel lacks prints nothing.
  // (Not the shell's `read` on /proc/sys: it reads a byte at a time, and the kernel ends an
  // integer value after its first byte.)
  const readLive = `sysctl -- ${wanted.map(([k]) => q(k)).join(' ')} 2>/dev/null; true`;
  return {
    describe: `sysctl ${spec.file}`,
    probe: inSections(MARK, [fileProbeCommand(spec.file, 'content'), readLive]),
    plan(current) {
      const [fileOut = '', liveOut = ''] = sectionsOf(MARK, current?.stdout ?? '');
      const filePlan = file.plan({ stdout: fileOut.trimEnd(), exitCode: 0 });
      const live = parseLive(
        liveOut,
        wanted.map(([k]) => k),
      );
      const missing = wanted.filter(([k]) => !live.has(k)).map(([k]) => k);
      if (missing.length > 0) throw new ResourceError(`unknown sysctl key(s) on this host: ${missing.join(', ')}`);
      const stale = wanted.filter(([k, v]) => live.get(k) !== v);
      const changes: Change[] = [
        ...filePlan.changes,
        ...stale.map(([k, v]): Change => ({
          type: 'value',
          what: `${k} (live)`,
          before: live.get(k) ?? null,
          after: v,
        })),
      ];
      return {
        changes,
        apply: async (remote, runtime) => {
          // Live values first: a key the kernel refuses fails the task before it is persisted.
          if (stale.length > 0) await setLive(remote, stale, readLive);
          if (filePlan.changes.length > 0) await filePlan.apply?.(remote, runtime);
        },
      };
    },
  };
}

/** Sets each key on its own (so every refused key is named), then reads all back. */
async function setLive(remote: Remote, stale: (readonly [string, string])[], readLive: string): Promise<void> {
  const write = stale.map(([k, v]) => `sysctl -q -w ${q(`${k}=${v}`)} 2>&1 | sed 's/^/${MARK} /'`).join('; ');
  const out = await runOrFail(remote, 'setting live sysctl values', `${write}; ${readLive}`);
  const complaints = out
    .split('\n')
    .filter((l) => l.startsWith(`${MARK} `))
    .map((l) => l.slice(MARK.length + 1));
  const after = parseLive(
    out
      .split('\n')
      .filter((l) => !l.startsWith(MARK))
      .join('\n'),
    stale.map(([k]) => k),
  );
  const refused = stale.filter(([k, v]) => after.get(k) !== v);
  if (refused.length > 0) {
    const what = refused.map(([k, v]) => `${k} (wrote ${v}, reads ${after.get(k) ?? 'nothing'})`).join('; ');
    throw new ResourceError(`sysctl value did not stick: ${what}`, complaints.join('\n') || undefined);
  }
}

/** sysctl prints multi-value keys with tabs; the file uses spaces. Compare them in one form. */
const render = (v: string | number | boolean): string =>
  String(typeof v === 'boolean' ? Number(v) : v)
    .trim()
    .split(/\s+/)
    .join(' ');

/** `key = value` lines, as `sysctl KEY...` prints them, by key as declared (dots or slashes). */
function parseLive(out: string, keys: readonly string[]): Map<string, string> {
  const printed = new Map<string, string>();
  for (const line of out.split('\n')) {
    const at = line.indexOf(' = ');
    if (at > 0) printed.set(line.slice(0, at), render(line.slice(at + 3)));
  }
  const live = new Map<string, string>();
  for (const k of keys) {
    const v = printed.get(k.replaceAll('/', '.'));
    if (v !== undefined) live.set(k, v);
  }
  return live;
}
