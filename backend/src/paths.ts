/**
 * Where the repository's files are (migrations, the built web app). Found by
 * walking up from this module, so it holds both for the sources run by tsx
 * (backend/src/…) and for the bundled server (backend/dist/main.mjs).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'migrations')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the Lifeline repository above ${start}`);
  }
}

export const REPO_ROOT = findRepoRoot(import.meta.dirname);
export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations');
