/**
 * Benchmarks measure what production runs: the bundled server `npm start`
 * runs (scripts/build-server.mjs), not the sources under tsx. Built fresh,
 * then every spawnServer in this process uses it.
 */
import { buildServer } from '../build-server.mjs';

export async function useServerBundle(): Promise<void> {
  await buildServer();
  process.env.SERVER_BUNDLE = '1';
}
