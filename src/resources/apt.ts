import { q } from '../transport/shell.ts';
import { unitPrediction } from './service.ts';
import { sharedProbe } from './probe.ts';
import { ResourceError, runOrFail, type Prediction, type Resource, type SharedReader } from './types.ts';

export interface AptSpec {
  packages: string[];
  state?: 'present' | 'absent';
  /**
   * Units the packages' install scripts enable and start (Debian starts a daemon it installs,
   * e.g. frr): check mode then judges a later task on such a unit as the install would leave it.
   */
  startsUnits?: string[];
}

const APT =
  'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

const PACKAGE_STATUS = `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n'`;

/** Every package list a host's tasks read, from one dpkg-query; each list's part is its packages' lines. */
const packagesReader: SharedReader<readonly string[]> = {
  name: 'packages',
  key: (names) => names.join(' '),
  command: (lists) => `${PACKAGE_STATUS} ${[...new Set(lists.flat())].map(q).join(' ')} 2>/dev/null; true`,
  split: (out, lists) => {
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    return lists.map((names) => lines.filter((line) => names.includes(line.split(' ')[0] ?? '')).join('\n'));
  },
};

/** Debian packages installed (or removed). The package lists are refreshed only when an install needs it. */
export function aptResource(spec: AptSpec): Resource {
  const want = spec.state ?? 'present';
  for (const p of spec.packages)
    if (!/^[a-z0-9][a-z0-9+.-]*(=[\w.+:~-]+)?$/.test(p)) throw new ResourceError(`invalid package name "${p}"`);
  const names = spec.packages.map((p) => p.split('=')[0] ?? p);
  return {
    describe: `apt ${spec.packages.join(' ')}`,
    probe: sharedProbe(packagesReader, names),
    plan(current) {
      const installed = new Set(
        (current?.stdout ?? '')
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter(([, status]) => status === 'ii')
          .map(([name]) => name),
      );
      const todo = spec.packages.filter((p) => installed.has(p.split('=')[0] ?? p) !== (want === 'present'));
      const changes = todo.map((p) => ({
        type: 'value' as const,
        what: `package ${p}`,
        before: want === 'present' ? 'absent' : 'installed',
        after: want === 'present' ? 'installed' : 'absent',
      }));
      const list = todo.map(q).join(' ');
      const script =
        want === 'present'
          ? // Stale or empty package lists are the usual reason an install fails: refresh once and retry.
            `${APT} install --no-install-recommends ${list} || { ${APT} update && ${APT} install --no-install-recommends ${list}; }`
          : `${APT} remove ${list}`;
      const status = want === 'present' ? 'ii' : 'rc';
      const predicts = (): Prediction[] => [
        {
          probe: sharedProbe(packagesReader, names),
          stdout: names.map((n) => `${n} ${status} `).join('\n'),
        },
        ...(want === 'present'
          ? (spec.startsUnits ?? []).map((u) => unitPrediction(u, { enabled: true, active: true }))
          : []),
      ];
      return {
        changes,
        predicts,
        apply: async (remote) =>
          void (await runOrFail(remote, `apt ${want === 'present' ? 'install' : 'remove'} ${todo.join(' ')}`, script)),
      };
    },
  };
}
