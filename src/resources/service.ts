import { q } from '../transport/shell.ts';
import { predictFile } from './file-state.ts';
import { sharedProbe } from './probe.ts';
import {
  ResourceError,
  runOrFail,
  type Change,
  type Prediction,
  type Probe,
  type Resource,
  type SharedReader,
} from './types.ts';

export interface ServiceSpec {
  unit: string;
  enabled?: boolean;
  /** `restarted`/`reloaded` always act: meant for handlers, which run only when notified. */
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  /**
   * Directories the service makes when it starts (K3s its auto-deploy manifests directory): check
   * mode judges later tasks on them as a start would leave them (present, 0700, root's).
   */
  creates?: string[];
}

interface UnitState {
  LoadState?: string;
  ActiveState?: string;
  UnitFileState?: string;
  NeedDaemonReload?: string;
}

/**
 * A systemd unit: enabled or not, running or not. When the unit's file changed on disk
 * (systemd's NeedDaemonReload) a daemon-reload comes first, so the new unit is what starts.
 */
export function serviceResource(spec: ServiceSpec): Resource {
  const unit = spec.unit.includes('.') ? spec.unit : `${spec.unit}.service`;
  // systemd's own rule; a name it would refuse would also upset the shared reading of all units.
  if (!/^[\w:.@\\-]+$/.test(unit)) throw new ResourceError(`invalid unit name "${spec.unit}"`);
  return {
    describe: `service ${unit}`,
    probe: unitProbe(unit),
    plan(current) {
      const s = parseUnit(current?.stdout ?? '');
      // Not found may only mean "written by an earlier task, not yet run" (check mode): plan it as
      // a disabled, stopped unit; applying reloads systemd first and fails if it is still missing.
      const missing = s.LoadState === 'not-found';
      if (missing) Object.assign(s, { UnitFileState: 'disabled', ActiveState: 'inactive', NeedDaemonReload: 'no' });
      else if (s.LoadState !== 'loaded') throw new ResourceError(`unit ${unit} is ${s.LoadState ?? 'unknown'}`);
      const enabledNow =
        s.UnitFileState === 'enabled' || s.UnitFileState === 'static' || s.UnitFileState === 'enabled-runtime';
      const active = s.ActiveState === 'active' || s.ActiveState === 'activating' || s.ActiveState === 'reloading';
      const steps: { change: Change; cmd: string }[] = [];
      if (s.NeedDaemonReload === 'yes')
        steps.push({ change: val('unit file', 'changed on disk', 'reloaded'), cmd: 'systemctl daemon-reload' });
      if (spec.enabled !== undefined && spec.enabled !== enabledNow) {
        steps.push({
          change: val('enabled', String(enabledNow), String(spec.enabled)),
          cmd: `systemctl ${spec.enabled ? 'enable' : 'disable'} ${q(unit)}`,
        });
      }
      const action = stateAction(spec.state, active);
      if (action)
        steps.push({
          change: val('state', s.ActiveState ?? 'unknown', action.after),
          cmd: `systemctl ${action.verb} ${q(unit)}`,
        });
      const mustRun = spec.state === 'started' || spec.state === 'restarted' || spec.state === 'reloaded';
      const after = {
        enabled: spec.enabled ?? (missing ? false : enabledNow),
        active: spec.state === undefined ? active : spec.state !== 'stopped',
      };
      return {
        changes: steps.map((st) => st.change),
        predicts: () => [
          unitPrediction(unit, after),
          ...(after.active
            ? (spec.creates ?? []).flatMap((dir) =>
                predictFile(dir, { kind: 'directory', mode: '0700', owner: 'root', group: 'root' }),
              )
            : []),
        ],
        apply: async (remote) => {
          const commands = [...(missing ? ['systemctl daemon-reload'] : []), ...steps.map((st) => st.cmd)];
          await runOrFail(remote, `systemctl on ${unit}`, commands.join(' && '));
          if (!mustRun) return;
          const check = await remote.exec(
            `systemctl is-active ${q(unit)} || { systemctl status --no-pager -n 20 ${q(unit)}; exit 1; }`,
          );
          if (check.exitCode !== 0)
            throw new ResourceError(`${unit} is not running after ${action?.verb ?? 'start'}`, check.stdout.trim());
        },
      };
    },
  };
}

function stateAction(state: ServiceSpec['state'], active: boolean): { verb: string; after: string } | undefined {
  if (state === 'started' && !active) return { verb: 'start', after: 'active' };
  if (state === 'stopped' && active) return { verb: 'stop', after: 'inactive' };
  if (state === 'restarted') return { verb: 'restart', after: 'restarted' };
  if (state === 'reloaded') return { verb: 'reload-or-restart', after: 'reloaded' };
  return undefined;
}

/** How the shared unit reading would show a unit that is enabled or not, running or not. */
export function unitPrediction(unit: string, after: { enabled: boolean; active: boolean }): Prediction {
  const stdout = [
    `LoadState=loaded`,
    `ActiveState=${after.active ? 'active' : 'inactive'}`,
    `UnitFileState=${after.enabled ? 'enabled' : 'disabled'}`,
    'NeedDaemonReload=no',
  ].join('\n');
  return { probe: unitProbe(unit), stdout };
}

const UNIT_PROPERTIES = 'LoadState,ActiveState,UnitFileState,NeedDaemonReload';

/** Every unit a host's tasks read, from one `systemctl show`: one block per unit, in order, blank-line separated (unknown units print LoadState=not-found). */
const unitReader: SharedReader<string> = {
  name: 'unit',
  key: (unit) => unit,
  command: (units) => `systemctl show -p ${UNIT_PROPERTIES} ${units.map(q).join(' ')}`,
  split: (out, units) => {
    const blocks = out.split('\n\n');
    return units.map((_, i) => blocks[i]?.trim() ?? '');
  },
};

const unitProbe = (unit: string): Probe => sharedProbe(unitReader, unit.includes('.') ? unit : `${unit}.service`);

const val = (what: string, before: string, after: string): Change => ({ type: 'value', what, before, after });

function parseUnit(out: string): UnitState {
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}
