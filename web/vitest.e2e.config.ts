import { defineConfig } from 'vitest/config';

// Browser end-to-end tests: the real gatehouse binary (built by `make build`)
// driven by the machine's Chromium. One binary and one browser, reused
// across the steps of a file.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
