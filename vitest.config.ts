import { defineConfig } from 'vitest/config';

// Two tiers by cost (STYLE.md): co-located unit tests, and integration tests that
// need a real server, kernel, browser or proxy (*.int.test.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['*/src/**/*.test.ts', '*/src/**/*.test.tsx'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['*/src/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // integration suites start servers on loopback ports: run files one at a time on 2 cores
          fileParallelism: false,
        },
      },
    ],
  },
});
