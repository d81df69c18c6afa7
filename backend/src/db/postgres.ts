import pg from 'pg';
import { beginStatement, withRetries, type Database, type Queryable, type QueryResult } from './database';

// timestamptz as ISO strings, int8 as JS numbers (our counters stay far below 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) => new Date(value).toISOString());

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<Row>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
      const result = await client.query(sql, params);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

/**
 * A client held for a transaction. Its connection can die between two
 * statements (the server restarted, a replica was stopped): `pg` then emits
 * `error` on the client, and with nobody listening that would end the process.
 * Here it is noted, the next statement fails as usual, and the broken client
 * is discarded on release rather than handed to the next caller.
 */
async function withCheckedOut<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  try {
    return await work(client);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Postgres over `pg`; `sslmode=require` in the URL turns TLS on (Neon). */
export function connectPostgres(
  connectionString: string,
  {
    maxConnections = 10,
    connectionTimeoutMillis = 0,
  }: { maxConnections?: number; connectionTimeoutMillis?: number } = {},
): Database {
  const pool = new pg.Pool({
    connectionString,
    max: maxConnections,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const direct = wrap(pool);
  return {
    kind: 'postgres',
    query: (sql, params) => direct.query(sql, params),
    transaction: (work, options) =>
      withRetries(() =>
        withCheckedOut(pool, async (client) => {
          try {
            await client.query(beginStatement(options));
            const result = await work(wrap(client));
            await client.query('COMMIT');
            return result;
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        }),
      ),
    withClient: (work) => withCheckedOut(pool, (client) => work(wrap(client))),
    poolStats: () => ({
      max: maxConnections,
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    }),
    close: () => pool.end(),
  };
}
