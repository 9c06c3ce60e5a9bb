import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fast-check-seed.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    // Simulation and property suites are CPU-bound; two workers match the CI machine (2 cores).
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
