import { defineConfig } from 'vitest/config';

// Unit tests live next to each package (packages/*/test); integration, fault and property
// tests that cross packages or need the real stack live in test/.
export default defineConfig({
  test: {
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
