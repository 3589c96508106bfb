import type { TestProject } from 'vitest/node';
import { labNames } from './paths.ts';
import { labUnavailableReason } from './preflight.ts';
import { defaultTopology } from './topology.ts';
import { defaultTimeoutMs, up } from './lab.ts';
import { teardown } from './teardown.ts';

/** The integration suite's own lab instance, so a developer's `npm run lab:up` lab is left alone. */
export const TEST_LAB = 'test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Name of the booted lab, or why none could be booted on this machine. */
    lab: { name: string } | { unavailable: string };
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reason = labUnavailableReason();
  if (reason) {
    const banner = '!'.repeat(78);
    console.error(
      `\n${banner}\n!! INTEGRATION TESTS SKIPPED: ${reason}\n!! They need the lab: run the tests as root after scripts/setup.\n${banner}\n`,
    );
    project.provide('lab', { unavailable: reason });
    return undefined;
  }
  const names = labNames(TEST_LAB);
  const topology = defaultTopology(2);
  const started = Date.now();
  await up(names, {
    topology,
    timeoutMs: defaultTimeoutMs(topology.hosts.length),
    log: (m) => console.error(`lab(test): ${m}`),
  });
  console.error(`lab(test): ${topology.hosts.length} hosts ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('lab', { name: TEST_LAB });
  return async () => {
    await teardown(names);
  };
}
