import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { InputError, type SourceLocation } from './errors.ts';
import { isPlainObject } from '../inventory/variables.ts';

/** How a `!vault` value stands in parsed YAML until it is opened: Ansible's own JSON form. */
export const VAULT_MARK = '__ansible_vault';

const HEADER = /^\$ANSIBLE_VAULT;(1\.[12]);AES256(;[^\n]*)?\n/;

/**
 * A string that holds Ansible Vault ciphertext (a whole file, or a `!vault` value), or claims to:
 * one with a header play does not know is refused as such when opened, not read as YAML.
 */
export const isVaulted = (text: string): boolean => text.trimStart().startsWith('$ANSIBLE_VAULT;');

/** A secret shorter than this is not masked on its own (it would garble every line holding it). */
const MASKABLE = 8;

/**
 * Ansible Vault's format 1.1/1.2, AES256, as `ansible-vault` writes it: after the header, hex of
 * `hex(salt)\nhex(hmac)\nhex(ciphertext)`; PBKDF2-HMAC-SHA256 (10000 rounds) of the password
 * gives the AES-256-CTR key, the HMAC-SHA256 key and the counter's start; PKCS#7 padding.
 */
export function decryptVault(text: string, password: string): string | undefined {
  const parts = vaultParts(text);
  if (typeof parts === 'string') return undefined;
  const { salt, hmac, cipher } = parts;
  const derived = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 10000, 80, 'sha256');
  const mac = createHmac('sha256', derived.subarray(32, 64)).update(cipher).digest();
  if (mac.length !== hmac.length || !timingSafeEqual(mac, hmac)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', derived.subarray(0, 32), derived.subarray(64, 80));
  const padded = Buffer.concat([decipher.update(cipher), decipher.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  return padded.subarray(0, padded.length - (pad >= 1 && pad <= 16 ? pad : 0)).toString('utf8');
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * Salt, HMAC and ciphertext of a vaulted text, or what is wrong with it: a header of another
 * format, or data that cannot be whole (cut short, edited, or merged by a version-control tool).
 */
function vaultParts(text: string): { salt: Buffer; hmac: Buffer; cipher: Buffer } | string {
  const trimmed = text.trimStart();
  const header = HEADER.exec(trimmed);
  if (!header)
    return `an Ansible Vault header play does not know ("${trimmed.split('\n')[0]?.slice(0, 60) ?? ''}"): play opens format 1.1 and 1.2 with AES256, as ansible-vault writes them`;
  const body = trimmed.slice(header[0].length).replace(/\s+/g, '');
  const corrupt =
    'Ansible Vault data that is cut short or corrupt (not hex salt, HMAC and ciphertext): restore the file';
  if (!HEX.test(body)) return corrupt;
  const lines = Buffer.from(body, 'hex').toString('latin1').split('\n');
  if (lines.length !== 3 || !lines.every((l) => HEX.test(l))) return corrupt;
  const [salt, hmac, cipher] = lines.map((h) => Buffer.from(h, 'hex')) as [Buffer, Buffer, Buffer];
  // AES with PKCS#7 padding: whole 16-byte blocks; an HMAC-SHA256 is 32 bytes.
  if (salt.length === 0 || hmac.length !== 32 || cipher.length === 0 || cipher.length % 16 !== 0) return corrupt;
  return { salt, hmac, cipher };
}

/**
 * The vault passwords of a run (from --vault-password-file or --ask-vault-pass) and what they
 * opened: every value decrypted is a secret, masked in all output. Decrypted text is never
 * written to the parsed-YAML cache: a vaulted file is parsed anew, and `!vault` values are
 * cached as ciphertext and opened on each run.
 */
export class Vault {
  private readonly opened = new Set<string>();

  constructor(private readonly passwords: string[]) {}

  get secrets(): string[] {
    return [...this.opened];
  }

  /** The plaintext of a vaulted text, or an input error saying why it cannot be had. */
  open(text: string, where: SourceLocation): string {
    const parts = vaultParts(text);
    if (typeof parts === 'string') throw InputError.at(where, parts);
    if (this.passwords.length === 0)
      throw InputError.at(
        where,
        'encrypted with Ansible Vault: give --vault-password-file FILE (or --ask-vault-pass on a terminal)',
      );
    for (const password of this.passwords) {
      const plain = decryptVault(text, password);
      if (plain !== undefined) return plain;
    }
    throw InputError.at(
      where,
      'encrypted with Ansible Vault, and the vault password given does not open it (its HMAC does not match)',
    );
  }

  /** Marks every value of a decrypted file as a secret. */
  remember(value: unknown): void {
    if (typeof value === 'string' || typeof value === 'number') {
      if (String(value).length >= MASKABLE) this.opened.add(String(value));
    } else if (Array.isArray(value)) value.forEach((v) => this.remember(v));
    else if (isPlainObject(value)) Object.values(value).forEach((v) => this.remember(v));
  }

  /** `value` with every `!vault` value in it opened (in place), each opened one a secret. */
  reveal(
    value: unknown,
    locate: (path: (string | number)[]) => SourceLocation,
    path: (string | number)[] = [],
  ): unknown {
    if (isPlainObject(value)) {
      const sealed = value[VAULT_MARK];
      if (typeof sealed === 'string' && Object.keys(value).length === 1) {
        const plain = this.open(sealed, locate(path));
        this.remember(plain);
        return plain;
      }
      for (const [k, v] of Object.entries(value)) value[k] = this.reveal(v, locate, [...path, k]);
    } else if (Array.isArray(value)) value.forEach((v, i) => (value[i] = this.reveal(v, locate, [...path, i])));
    return value;
  }
}

/** A run without vault passwords: any vaulted input is refused, saying what to give. */
export const NO_VAULT = new Vault([]);
