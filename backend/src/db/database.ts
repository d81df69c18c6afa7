/**
 * The one small query interface every repository uses, implemented by a
 * `pg` pool (cloud and hub) and by in-process PGlite (embedded default).
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>>;
}

export interface TransactionOptions {
  /**
   * Plan `ORDER BY … LIMIT` reads as a walk down the matching index, never a
   * sort of everything that matches. Without fresh statistics (autovacuum
   * behind, or off) the planner guesses a few hundred matching rows where
   * there are 500,000, and sorting them all for every page of a pull turns
   * each page into a full scan.
   */
  orderedScans?: boolean;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Run `work` in one transaction. Serialization failures and deadlocks
   * (SQLSTATE 40001, 40P01) are retried, so `work` must be safe to re-run.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Connections in use and waiting, for monitoring (Postgres pools only). */
  poolStats?(): { max: number; total: number; idle: number; waiting: number };
  /** A raw client for tools that need one (the migration runner), held exclusively while `work` runs. */
  withClient<T>(work: (client: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}

export async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!isRetryable(error) || tries >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * tries));
    }
  }
}

/** The statement that opens a transaction with these options (one round trip). */
export function beginStatement(options: TransactionOptions = {}): string {
  return options.orderedScans ? 'BEGIN; SET LOCAL enable_sort = off' : 'BEGIN';
}
