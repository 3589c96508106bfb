import { q } from '../transport/shell.ts';

/** What `probeFile` reports about a path. */
export interface FileState {
  kind: 'absent' | 'file' | 'directory' | 'other';
  mode?: string;
  owner?: string;
  group?: string;
  content?: Buffer;
}

/** One line of metadata, then (regular files only) the content in base64 on the next line. */
export function probeFile(path: string, withContent: boolean): string {
  const p = q(path);
  const body = withContent ? `; [ -f ${p} ] && base64 -w0 ${p}; true` : '';
  return `if [ -e ${p} ] || [ -L ${p} ]; then stat -c '%F|%a|%U|%G' ${p}${body}; else echo absent; fi`;
}

export function parseFileState(stdout: string): FileState {
  const [meta = '', content = ''] = stdout.split('\n');
  if (meta === 'absent') return { kind: 'absent' };
  const [type = '', mode = '', owner = '', group = ''] = meta.split('|');
  const kind = type.startsWith('regular') ? 'file' : type === 'directory' ? 'directory' : 'other';
  return { kind, mode: normalizeMode(mode), owner, group, content: kind === 'file' ? Buffer.from(content, 'base64') : undefined };
}

/** `644`, `0644` and `'0644'` all mean the same; compare them in one form. */
export function normalizeMode(mode: string | number): string {
  const s = typeof mode === 'number' ? mode.toString(8) : mode;
  if (!/^[0-7]{3,4}$/.test(s)) throw new Error(`invalid file mode "${mode}": expected octal like "0644"`);
  return s.padStart(4, '0');
}

/** Whether a buffer is text we can show as a unified diff. */
export function isText(b: Buffer): boolean {
  return !b.includes(0) && Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}
