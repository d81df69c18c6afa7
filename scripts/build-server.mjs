// Bundle the server's TypeScript (backend + core) into one ES module,
// backend/dist/main.mjs, that plain Node runs: no transpiler at run time
// (tsx also wraps every function in a naming helper, which the sync hot path
// pays for per change). Packages from node_modules stay imports.
// `npm start` runs this before every start (well under a second), so the
// bundle never lags the sources; `node scripts/build-server.mjs` alone works too.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SERVER_BUNDLE = path.join(root, 'backend/dist/main.mjs');

export async function buildServer() {
  await build({
    entryPoints: [path.join(root, 'backend/src/main.ts')],
    outfile: SERVER_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    // Our own workspace package is bundled (aliases apply before `packages: 'external'`).
    alias: { '@lifeline/core': path.join(root, 'core/src/index.ts') },
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return SERVER_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildServer();
  console.log(`lifeline: server bundled into ${path.relative(root, SERVER_BUNDLE)}`);
}
