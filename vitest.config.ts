import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Roles import play by its package name, as a user's roles do (package.json's exports).
  resolve: { alias: { 'play/role': fileURLToPath(new URL('src/role/api.ts', import.meta.url)) } },
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
          testTimeout: 60_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
