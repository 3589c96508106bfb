import { createHash, createHmac } from 'node:crypto';
import picomatch from 'picomatch';
import { FNMATCH } from '../inventory/patterns.ts';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownKey {
  type: string;
  /** The raw public key blob (what the server sends). */
  blob: Buffer;
  revoked: boolean;
}

export type HostKeyVerdict =
  { ok: true } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; fingerprint: string; type: string };

/** OpenSSH names a host by `name` on port 22 and `[name]:port` elsewhere. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type a server key blob declares (its first length-prefixed string). */
function keyType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('ascii');
}

/** Keys listed for `name` in known_hosts files (missing files count as empty). */
export function knownKeys(files: readonly string[], name: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const fields = line.split(/\s+/);
      const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
      if (marker === '@cert-authority') continue;
      const [hosts = '', type = '', key = ''] = fields;
      if (!matchesHost(hosts, name)) continue;
      keys.push({ type, blob: Buffer.from(key, 'base64'), revoked: marker === '@revoked' });
    }
  }
  return keys;
}

/** Known key with the same blob: ok. Known host, none matching: changed. No entry at all: unknown. */
export function verifyHostKey(known: readonly KnownKey[], blob: Buffer): HostKeyVerdict {
  const type = keyType(blob);
  const fp = fingerprint(blob);
  const same = known.filter((k) => k.blob.equals(blob));
  if (same.some((k) => k.revoked)) return { ok: false, reason: 'revoked', fingerprint: fp, type };
  if (same.length > 0) return { ok: true };
  return { ok: false, reason: known.some((k) => !k.revoked) ? 'changed' : 'unknown', fingerprint: fp, type };
}

export function recordHostKey(file: string, name: string, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${name} ${keyType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}

/** Comma-separated patterns with `*`/`?`, `!negation`, or a hashed `|1|salt|hmac` entry. */
function matchesHost(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = patterns.split('|');
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!');
    // `[host]:port` is literal in known_hosts: only `*` and `?` are wildcards there.
    const glob = (negated ? p.slice(1) : p).replace(/[[\]]/g, '\\$&');
    if (picomatch.isMatch(name, glob, FNMATCH)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}
