import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every entry of a host's writable layer with its type, mode, owner, size and content hash:
 * two equal snapshots mean nothing on the host's disk changed in between.
 */
export function layerSnapshot(layer: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const rel = path.slice(layer.length);
      const meta = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size}`;
      if (st.isDirectory()) {
        out.set(rel, `dir ${meta}`);
        walk(path);
      } else if (st.isSymbolicLink()) out.set(rel, `link ${meta} -> ${readlinkSync(path)}`);
      else if (st.isFile()) out.set(rel, `file ${meta} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
      else out.set(rel, `special ${meta} ${st.rdev}`);
    }
  };
  walk(layer);
  return out;
}

/** What differs between two snapshots, one line per path. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).map((p) => `${p}: ${before.get(p) ?? '(absent)'} => ${after.get(p) ?? '(absent)'}`);
}
