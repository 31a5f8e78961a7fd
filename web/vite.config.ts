import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const outDir = resolve(import.meta.dirname, 'dist');

// keepGitkeep recreates dist/.gitkeep after Vite empties the output
// directory: the file is tracked so that go:embed always finds web/dist, and
// rewriting it unchanged keeps `git status` clean after a build.
function keepGitkeep(): Plugin {
  return {
    name: 'gatehouse-keep-gitkeep',
    apply: 'build',
    closeBundle() {
      writeFileSync(resolve(outDir, '.gitkeep'), '');
    },
  };
}

// The console talks to the admin API on the same origin. During `npm run
// dev` the API is proxied to a locally running `gatehouse serve`.
const apiTarget = process.env.GATEHOUSE_CONSOLE_URL ?? 'http://127.0.0.1:8001';

export default defineConfig({
  plugins: [react(), keepGitkeep()],
  base: '/',
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
    },
  },
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
    testTimeout: 30000,
  },
});
