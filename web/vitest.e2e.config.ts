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
    // What a page shows after a click can take more than vitest's default
    // second on a loaded CI machine (the logs view re-renders 500 lines
    // when the level filter changes); a poll still ends as soon as the
    // page is right.
    expect: { poll: { timeout: 15_000 } },
  },
});
