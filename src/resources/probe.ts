import type { Remote } from '../transport/remote.ts';
import type { Probe, SharedProbe, SharedReader } from './types.ts';

/** A resource's part of its kind's shared reading. */
export const sharedProbe = <T>(reader: SharedReader<T>, item: T): SharedProbe<T> => ({ reader, item });

/** A probe's identity: equal keys read the same thing. */
export const probeKey = (p: Probe): string => (typeof p === 'string' ? p : `${p.reader.name}\0${p.reader.key(p.item)}`);

/** The command a probe runs when read on its own. */
export const ownCommand = (p: Probe): string => (typeof p === 'string' ? p : p.reader.command([p.item]));

/** Reads one probe on its own, keeping stderr for messages (a poll, not a batch). */
export async function readAlone(
  remote: Remote,
  p: Probe,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = await remote.exec(ownCommand(p));
  return typeof p === 'string' ? r : { ...r, stdout: p.reader.split(r.stdout, [p.item])[0] ?? '' };
}
