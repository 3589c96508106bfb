import type { CompiledRun } from '../engine/compile.ts';

/** `--list-hosts`: the hosts each play would run on (after --limit). */
export function listHosts(run: CompiledRun): string[] {
  return run.plays.flatMap((cp) => [
    `play "${cp.play.name}" (${cp.hosts.length} host${cp.hosts.length === 1 ? '' : 's'}):`,
    ...cp.hosts.map((h) => `  ${h}`),
  ]);
}

/** `--list-tasks`: the tasks that would run (after --tags/--skip-tags/--role), with their tags. */
export function listTasks(run: CompiledRun): string[] {
  return run.plays.flatMap((cp) => [
    `play "${cp.play.name}":`,
    ...cp.listing.flatMap((r) =>
      r.tasks.filter((t) => t.selected).map((t) => `  ${r.role} | ${t.name}    TAGS: [${t.tags.join(', ')}]`),
    ),
  ]);
}

/** `--list-tags`: every tag the playbook's tasks carry, per play. */
export function listTags(run: CompiledRun): string[] {
  return run.plays.map((cp) => {
    const tags = new Set(cp.listing.flatMap((r) => r.tasks.flatMap((t) => t.tags)));
    return `play "${cp.play.name}": TASK TAGS: [${[...tags].sort().join(', ')}]`;
  });
}
