import fs from 'node:fs/promises';
import { PGlite, types } from '@electric-sql/pglite';
import { beginStatement, withRetries, type Database, type Queryable, type QueryResult } from './database';

/**
 * Embedded Postgres (PGlite, in-process). It serves one connection, so every
 * statement and transaction takes a turn through one queue: a transaction
 * never interleaves with another caller's statements.
 */
export async function openPglite(dataDir: string): Promise<Database> {
  await fs.mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, {
    parsers: {
      [types.INT8]: (value: string) => Number(value),
      [types.TIMESTAMPTZ]: (value: string) => new Date(value).toISOString(),
    },
  });
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  const raw: Queryable = {
    async query<Row>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
      if (params === undefined || params.length === 0) {
        // Without parameters, allow several statements (migration files).
        const results = await db.exec(sql);
        const last = results[results.length - 1];
        return { rows: (last?.rows ?? []) as Row[], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
      }
      const result = await db.query<Row>(sql, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  };

  return {
    kind: 'pglite',
    query: (sql, params) => exclusive(() => raw.query(sql, params)),
    transaction: (work, options) =>
      withRetries(() =>
        exclusive(async () => {
          await raw.query(beginStatement(options));
          try {
            const result = await work(raw);
            await raw.query('COMMIT');
            return result;
          } catch (error) {
            await raw.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        }),
      ),
    withClient: (work) => exclusive(() => work(raw)),
    close: () => exclusive(() => db.close()),
  };
}
