#!/usr/bin/env node
// `npm start`: build what is missing (the PWA) and the server bundle, then serve the API and the app
// on PORT in this same process, honouring every variable in DESIGN.md section 4.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const builtApp = path.join(root, 'frontend/build/index.html');

if (!process.env.FRONTEND_DIR && !existsSync(builtApp)) {
  console.log('lifeline: building the web app (first start only)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build', '-w', 'frontend'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('lifeline: the web app failed to build; serving the API with a placeholder page.');
  }
}

// The server runs as one bundled module under plain Node (see build-server.mjs), rebuilt from the sources on every start.
const { buildServer } = await import('./build-server.mjs');
const bundle = await buildServer();
process.setSourceMapsEnabled(true);
await import(bundle);
