import type { FullConfig } from '@playwright/test';
import { ensureFrontendBuilt, startBackend } from './server';
import { ADMIN } from './helpers';

/** Build the app, start the backend on a fresh database, create the first admin. Returns the teardown. */
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  ensureFrontendBuilt();
  const backend = await startBackend('e2e');
  const response = await fetch(`${backend.baseUrl}/api/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: backend.baseUrl },
    body: JSON.stringify({ community: 'E2E Street', ...ADMIN }),
  });
  if (response.status !== 201) throw new Error(`setup failed: ${response.status} ${await response.text()}`);
  // Tests read these (Playwright passes globalSetup's environment to the workers).
  process.env.LIFELINE_BASE_URL = backend.baseUrl;
  process.env.LIFELINE_DATABASE_URL = backend.databaseUrl;
  return () => backend.stop();
}
