import { runner } from 'node-pg-migrate';
import { MIGRATIONS_DIR } from '../paths';
import type { Database } from './database';

const LOCK_BUSY = /Another migration is already running/;

/**
 * Apply `migrations/*.sql` with node-pg-migrate. Instances starting together
 * race for its advisory lock: the losers wait and retry, then find nothing to do.
 */
export async function migrate(db: Database, log: (message: string) => void): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await db.withClient((client) =>
        runner({
          dbClient: client as never,
          dir: MIGRATIONS_DIR,
          direction: 'up',
          migrationsTable: 'schema_migrations',
          singleTransaction: true,
          checkOrder: true,
          log: () => undefined,
          logger: { info: () => undefined, warn: log, error: log, debug: () => undefined },
        }),
      );
      return;
    } catch (error) {
      if (!LOCK_BUSY.test(String((error as Error).message)) || attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}
