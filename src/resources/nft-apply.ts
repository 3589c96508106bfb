import { q } from '../transport/shell.ts';
import { InterruptedError, type Remote } from '../transport/remote.ts';
import { NFT } from './nft-command.ts';
import { ResourceError, runOrFail, type Resource, type Runtime } from './types.ts';

export interface NftApplySpec {
  /** The ruleset file: it replaces only its own table (`table X {}; delete table X; table X {...}`). */
  ruleset: string;
  /** e.g. `inet play_firewall`. */
  table: string;
  /** The host restores the previous table this many seconds after applying unless disarmed. */
  rollbackAfterSeconds: number;
  /** `always` (a handler, after the ruleset changed) or `if-missing` (the table is not loaded, e.g. flushed by hand). */
  load: 'always' | 'if-missing';
}

const STATE = '/run/play-firewall';
const UNIT = 'play-firewall-rollback';

/**
 * Loads an nftables table without locking the controller out: before applying, a timer on the
 * host is armed to restore the previous table; after applying, a NEW SSH connection must get in,
 * and only then is the timer disarmed. If it cannot, the host restores itself and the task fails
 * saying so.
 */
export function nftApplyResource(spec: NftApplySpec): Resource {
  // The table as play last loaded it is kept beside the ruleset (stateless: no counter values):
  // a live table that differs from it was changed by hand (`nft insert rule ...`), which the
  // ruleset file alone would not show.
  const loadedCopy = loadedListing(spec);
  const probe = `if ${NFT} list table ${spec.table} >/dev/null 2>&1; then echo loaded; ${NFT} -s list table ${spec.table}; echo ${SAVED_MARK}; cat ${q(loadedCopy)} 2>/dev/null; else echo missing; fi`;
  return {
    describe: `nftables table ${spec.table}`,
    probe,
    plan(current) {
      const [status = '', rest = ''] = (current?.stdout ?? '').split(/\n(.*)/s);
      const [live = '', saved = ''] = rest.split(`${SAVED_MARK}\n`);
      const loaded = status.trim() === 'loaded';
      const handEdited = loaded && saved !== '' && live !== saved;
      if (spec.load === 'if-missing' && loaded && !handEdited) return { changes: [] };
      return {
        changes: [
          handEdited
            ? {
                type: 'content',
                path: `table ${spec.table} (live, changed since play loaded it)`,
                before: live,
                after: saved,
              }
            : {
                type: 'value',
                what: `table ${spec.table}`,
                before: loaded ? 'loaded' : 'not loaded',
                after: `loaded from ${spec.ruleset}`,
              },
        ],
        apply: (remote, runtime) => applyWithRollback(remote, runtime, spec),
        // After loading, the live table is the copy saved of it (what it lists is not known here).
        predicts: () => [{ probe, stdout: `loaded\n(as loaded)\n${SAVED_MARK}\n(as loaded)\n` }],
      };
    },
  };
}

const SAVED_MARK = '@@play-loaded@@';
const loadedListing = (spec: NftApplySpec): string => `${spec.ruleset}.loaded`;

async function applyWithRollback(remote: Remote, runtime: Runtime, spec: NftApplySpec): Promise<void> {
  const previous = `${STATE}/previous.nft`;
  const applied = `${spec.ruleset}.applied`;
  // What undoes the change: the table as it was (or no table), and the ruleset file as it was
  // last applied, so a reboot does not load the ruleset that locked the controller out.
  // The copy of the table as loaded follows the restored table: it was play's, and reloading a
  // listing writes some rules differently ({ 10.42.0.0/15 } becomes 10.42.0.0/15).
  const loaded = loadedListing(spec);
  const saveLoaded = `if (umask 077; ${NFT} -s list table ${spec.table} > ${q(loaded)}.tmp); then mv ${q(loaded)}.tmp ${q(loaded)}; else rm -f ${q(loaded)}.tmp ${q(loaded)}; fi`;
  const undo = `${NFT} -f ${previous}; if [ -f ${q(applied)} ]; then cp -p ${q(applied)} ${q(spec.ruleset)}; else rm -f ${q(spec.ruleset)}; fi; ${saveLoaded}`;
  const arm = [
    'set -e',
    `mkdir -p ${STATE}`,
    `{ echo 'table ${spec.table} {}'; echo 'delete table ${spec.table}'; ${NFT} list table ${spec.table} 2>/dev/null || true; } > ${previous}`,
    `systemctl stop ${UNIT}.timer ${UNIT}.service 2>/dev/null || true`,
    `systemctl reset-failed ${UNIT}.service 2>/dev/null || true`,
    `systemd-run --quiet --unit ${UNIT} --on-active=${spec.rollbackAfterSeconds}s /bin/sh -c ${q(undo)}`,
    `${NFT} -f ${q(spec.ruleset)}`,
  ].join('\n');
  await runOrFail(remote, `loading ${spec.ruleset}`, arm);
  try {
    await runtime.newConnection(remote.host);
  } catch (e) {
    // Cut by a stop: the rollback timer stays armed and restores the old ruleset on its own.
    if (e instanceof InterruptedError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    await waitForRollback(remote, spec.rollbackAfterSeconds);
    const back = await runtime.newConnection(remote.host).then(
      () => 'the host is reachable again',
      (err: unknown) => `but it is still not reachable (${err instanceof Error ? err.message : String(err)})`,
    );
    throw new ResourceError(
      `the new firewall blocked a new SSH connection from the controller (${why}); the host restored the previous ruleset (live and in ${spec.ruleset}) after ${spec.rollbackAfterSeconds} s and ${back}. Check the SSH sources in the firewall variables.`,
    );
  }
  await runOrFail(
    remote,
    'disarming the firewall rollback',
    `systemctl stop ${UNIT}.timer 2>/dev/null || true; cp -p ${q(spec.ruleset)} ${q(applied)}; ${saveLoaded}`,
  );
}

/** The established connection still works (established traffic is accepted): wait there for the timer. */
async function waitForRollback(remote: Remote, seconds: number): Promise<void> {
  await remote
    .exec(`for i in $(seq ${seconds + 10}); do systemctl is-active --quiet ${UNIT}.timer || exit 0; sleep 1; done`, {
      timeoutMs: (seconds + 20) * 1000,
    })
    .catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
}
