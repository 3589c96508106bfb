import type { HostRequirements } from '../role/definition.ts';
import { q } from '../transport/shell.ts';
import type { CompiledRun } from './compile.ts';

/** Everything the roles a host runs in this run need of it, together. */
export function hostRequirements(compiled: CompiledRun, host: string): HostRequirements | undefined {
  const all = compiled.plays
    .flatMap((p) => p.roles)
    .filter((r) => (r.tasks.get(host)?.length ?? 0) > 0)
    .map((r) => r.requires.get(host))
    .filter((r): r is HostRequirements => r !== undefined);
  if (all.length === 0) return undefined;
  const commands = [...new Set(all.flatMap((r) => r.commands ?? []))].sort();
  return {
    ...(all.some((r) => r.family === 'debian') ? { family: 'debian' as const } : {}),
    ...(commands.length > 0 ? { commands } : {}),
  };
}

/** One command reading what the requirements ask about: the OS's identity and each program's presence. */
export function requirementsCommand(req: HostRequirements): string {
  return [
    `(. /etc/os-release 2>/dev/null; printf 'os %s|%s|%s\\n' "\${ID:-}" "\${ID_LIKE:-}" "\${PRETTY_NAME:-}")`,
    ...(req.commands ?? []).map((c) => `command -v ${q(c)} >/dev/null 2>&1 || printf 'missing %s\\n' ${q(c)}`),
  ].join('; ');
}

/** What the host lacks, in words a user can act on; undefined when it has everything. */
export function requirementsProblem(req: HostRequirements, stdout: string): string | undefined {
  const lines = stdout.split('\n');
  const [id = '', like = '', pretty = ''] = (lines.find((l) => l.startsWith('os '))?.slice(3) ?? '').split('|');
  const problems: string[] = [];
  if (req.family === 'debian' && ![id, ...like.split(/\s+/)].includes('debian'))
    problems.push(
      `not a Debian-family host (${pretty || id || 'no /etc/os-release'}): play's roles install with apt and dpkg and run under systemd; use Debian 12 or Ubuntu 22.04 or later`,
    );
  const missing = lines.filter((l) => l.startsWith('missing ')).map((l) => l.slice('missing '.length));
  if (missing.length > 0) problems.push(`missing ${missing.join(', ')} on the PATH the roles' commands run with`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}
