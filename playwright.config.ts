import { defineConfig } from '@playwright/test';

// Debian's chromium (apt), never a downloaded browser. One worker: the machine has 2 cores
// and every page trains a model.
/** Chromium's flags for every suite; a suite that launches its own browser adds to them (e2e/https.spec.ts). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];
export const CHROMIUM_PATH = process.env.FEDTSA_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  timeout: 180_000,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
});
