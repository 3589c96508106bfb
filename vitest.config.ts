import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Roles import play by its package name, as a user's roles do (package.json's exports).
  resolve: { alias: { 'vds-play/role': fileURLToPath(new URL('src/role/api.ts', import.meta.url)) } },
  test: {
    projects: [
      {
        // No root, no lab, no network: the engine against fake hosts, input checking, output.
        // First, and alone: beside the lab's files they would take the CPU the lab's hosts need.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, sequence: { groupOrder: 0 } },
      },
      {
        test: {
          name: 'lab',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/lab/vitest-global-setup.ts'],
          // Integration tests share one booted lab; running files one after another keeps hosts predictable.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          // Above play-runner's 180 s guard: a whole site.yaml run that hangs is cut by the guard,
          // which prints the cluster's state first, not by vitest, which would print nothing.
          testTimeout: 240_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
