import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a running cluster writes by itself, whoever runs play or not: etcd's data, and the lab's
 * node agent's pod volumes (kept current from the API) and pod output. The tests' claim is that
 * play wrote nothing; these directories say nothing about that, and are left out.
 */
const LIVE = ['/var/lib/rancher/k3s/server/db', '/var/lib/play-lab', '/var/log/play-lab'];

/**
 * FRR's log ring buffers: each daemon maps one file per thread (/var/tmp/frr/DAEMON.PID/logbuf.TID)
 * and copies every message it logs into it, for a crash's last words (lib/zlog.c). bgpd logging a
 * session event changes it, whoever runs play; a vtysh read does not (checked on the demo lab).
 */
const isFrrLogBuffer = (rel: string): boolean => /^\/var\/tmp\/frr\/[^/]+\/logbuf\.\d+$/.test(rel);

/**
 * Every entry of a host's writable layer with its type, mode, owner, size and content hash,
 * but for what the running cluster and FRR write by themselves: two equal snapshots mean nothing else on
 * the host's disk changed in between.
 */
export function layerSnapshot(layer: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const rel = path.slice(layer.length);
      if (LIVE.some((l) => rel === l || rel.startsWith(`${l}/`)) || isFrrLogBuffer(rel)) continue;
      const meta = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size}`;
      if (st.isDirectory()) {
        out.set(rel, `dir ${meta}`);
        walk(path);
      } else if (st.isSymbolicLink()) out.set(rel, `link ${meta} -> ${readlinkSync(path)}`);
      else if (st.isFile())
        out.set(rel, `file ${meta} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
      else out.set(rel, `special ${meta} ${st.rdev}`);
    }
  };
  walk(layer);
  return out;
}

/** What differs between two snapshots, one line per path. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths]
    .filter((p) => before.get(p) !== after.get(p))
    .map((p) => `${p}: ${before.get(p) ?? '(absent)'} => ${after.get(p) ?? '(absent)'}`);
}
