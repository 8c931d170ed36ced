import { defineConfig } from 'vitest/config';

// Unit tests live next to each package (packages/*/test); integration, fault and property
// tests that cross packages or need the real stack live in test/.
export default defineConfig({
  test: {
    // `pnpm test:coverage`: line coverage of the runtime and the client port (off otherwise).
    coverage: {
      provider: 'v8',
      include: ['packages/streams-core/src/runtime/**/*.ts', 'packages/streams-core/src/client/**/*.ts'],
      reporter: [['text', { maxCols: 120 }], 'text-summary'],
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/test/**/*.test.ts',
            'packages/topologies/*/*.test.ts',
            'bench/test/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Integration suites share one broker; running files one at a time keeps their
          // consumer groups and timings from interfering on a 2-core machine.
          fileParallelism: false,
        },
      },
    ],
  },
});
