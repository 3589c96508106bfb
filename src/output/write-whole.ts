import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** The temporary file a whole write goes through, beside its target (a rename stays on one file system). */
export const tempFor = (file: string): string => `${file}.${process.pid}.tmp`;

/**
 * Writes a local file whole or not at all: a reader (CI polling a report, kubectl) never sees half
 * of it, and a stopped run leaves the old file. The temporary file is created anew (never one
 * left at that path) with `mode` from its first byte, synced, then renamed over the target.
 */
export function writeWhole(file: string, text: string, mode = 0o666): void {
  const temp = tempFor(file);
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(temp, file);
}
