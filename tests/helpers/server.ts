/** Start the real server in-process on an ephemeral port, against a real database. */
import { loadConfig } from '../../backend/src/config';
import { startServer, type RunningServer } from '../../backend/src/server';
import { createTestDatabase, type TestDatabase } from './database';

export interface TestServer {
  server: RunningServer;
  url: string;
  database: TestDatabase | null;
  stop(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const database = env.DATABASE_URL || env.DATA_DIR ? null : await createTestDatabase();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const server = await startServer(config);
  return {
    server,
    url: server.url,
    database,
    async stop() {
      await server.close(1000);
      await database?.drop();
    },
  };
}
