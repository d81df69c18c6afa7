import path from 'node:path';
import type { Config } from '../config';
import type { Database } from './database';
import { migrate } from './migrate';
import { openPglite } from './pglite';
import { connectPostgres } from './postgres';

/** Postgres when DATABASE_URL is set, else embedded PGlite in DATA_DIR; migrated either way. */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  log: (m: string) => void,
): Promise<Database> {
  const db = config.databaseUrl
    ? connectPostgres(config.databaseUrl)
    : await openPglite(path.join(config.dataDir, 'pglite'));
  try {
    await migrate(db, log);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}
