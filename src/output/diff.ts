import { createRequire } from 'node:module';
import type { Change } from '../resources/types.ts';

// Loaded at the first content diff: a rerun with nothing to show does not pay for loading it.
const require = createRequire(import.meta.url);
const diffLibrary = (): typeof import('diff') => require('diff') as typeof import('diff');

/** Text as a unified diff (3 lines of context); any other value as `what: before → after`. */
export function renderChange(change: Change): string {
  if (change.type === 'value') return `${change.what}: ${show(change.before)} → ${show(change.after)}`;
  const patch = diffLibrary().createTwoFilesPatch(
    change.before === null ? '/dev/null' : `${change.path} (before)`,
    change.after === null ? '/dev/null' : `${change.path} (after)`,
    change.before ?? '',
    change.after ?? '',
    undefined,
    undefined,
    { context: 3 },
  );
  // The first line is a `====` separator the diff library adds; unified diff starts at `---`.
  return patch.split('\n').slice(1).join('\n').trimEnd();
}

const show = (v: string | null): string => (v === null ? '(none)' : v === '' ? '""' : v);
