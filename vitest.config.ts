import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Two projects: server-side and pure code in Node, and the browser's data layer
// (IndexedDB via fake-indexeddb). Database tests create their own databases.
export default defineConfig({
  test: {
    projects: [
      {
        // The chaos harness drives the PWA's own sync code ($lib) as simulated browsers.
        resolve: { alias: { $lib: fileURLToPath(new URL('./frontend/src/lib', import.meta.url)) } },
        test: {
          name: 'server',
          include: ['core/src/**/*.test.ts', 'backend/src/**/*.test.ts', 'tests/**/*.test.ts'],
          exclude: ['tests/e2e/**', '**/node_modules/**'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias: { $lib: fileURLToPath(new URL('./frontend/src/lib', import.meta.url)) } },
        test: {
          name: 'frontend',
          include: ['frontend/src/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['fake-indexeddb/auto'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
