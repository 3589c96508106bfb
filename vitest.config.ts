import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // No root, no lab, no network: the engine against fake hosts, input checking, output.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 },
      },
      {
        test: {
          name: 'lab',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/lab/vitest-global-setup.ts'],
          // Integration tests share one booted lab; running files one after another keeps hosts predictable.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
