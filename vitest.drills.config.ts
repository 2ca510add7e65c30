import { defineConfig } from 'vitest/config';

// Fault drills too long for every CI run: `npm run drills`. Short drills live beside the code
// they exercise (apps/*/src/**/*.test.ts) and run with the normal suite.
export default defineConfig({
  test: {
    include: ['drills/**/*.drill.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
