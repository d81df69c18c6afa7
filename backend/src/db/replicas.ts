/**
 * Read replicas (DATABASE_READ_URLS): Postgres hot standbys that serve reads
 * (pulls, exports, record reads, history, conflict lists) so the primary
 * keeps its capacity for writes.
 *
 * Each replica is probed every second: does it answer, and how far behind the
 * primary's WAL is it. One that is down, or further behind than
 * DATABASE_READ_MAX_LAG_MS, is skipped; a read that fails on a replica runs
 * again on the primary, so a dying replica never fails a request. A caller
 * that wrote through this instance within the lag limit reads from the
 * primary, so it sees its own writes.
 *
 * Why pages may come from different servers in turn without skipping: a pull
 * page only holds rows of transactions older than every one still running in
 * that server's snapshot (pg_snapshot_xmin, which a standby computes from the
 * transactions it has replayed). Every server replays the one WAL history, so
 * a transaction finished on one is finished, with the same rows, on any
 * server at or past that point; a server that is behind returns nothing past
 * the cursor yet, never rows below it.
 */
import type { Logger } from 'pino';
import type { Database } from './database';
import { connectPostgres } from './postgres';

const PROBE_EVERY_MS = 1000;
const CONNECT_TIMEOUT_MS = 1500;

export interface ReplicaState {
  /** host:port/database, never credentials. */
  name: string;
  up: boolean;
  /** Seconds behind the primary (0 when caught up); null while down. */
  lagSeconds: number | null;
  /** WAL bytes still to replay; null while down. */
  bytesBehind: number | null;
  /** Serving reads now (up and within the lag limit). */
  usable: boolean;
}

interface Replica {
  db: Database;
  state: ReplicaState;
}

export function replicaName(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'replica';
  }
}

export class ReadReplicas {
  private readonly replicas: Replica[];
  private readonly recentWriters = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private turn = 0;
  /** Reads routed, by target, for metrics. */
  readonly reads = { replica: 0, primary: 0, fallback: 0 };

  constructor(
    private readonly primary: Database,
    urls: string[],
    private readonly maxLagMs: number,
    private readonly log: Pick<Logger, 'warn'>,
    connect: (url: string) => Database = (url) =>
      connectPostgres(url, { maxConnections: 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }),
  ) {
    this.replicas = urls.map((url) => ({
      db: connect(url),
      state: { name: replicaName(url), up: false, lagSeconds: null, bytesBehind: null, usable: false },
    }));
  }

  async start(): Promise<void> {
    await this.probe();
    this.timer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
    this.timer.unref();
  }

  states(): ReplicaState[] {
    return this.replicas.map((replica) => ({ ...replica.state }));
  }

  /** `reader` wrote just now: its reads go to the primary until any replica has surely caught up. */
  noteWrite(reader: string): void {
    this.recentWriters.set(reader, Date.now());
    if (this.recentWriters.size > 10_000) {
      const cutoff = Date.now() - this.maxLagMs;
      for (const [key, at] of this.recentWriters) if (at < cutoff) this.recentWriters.delete(key);
    }
  }

  /** Where a read for `reader` goes: a usable replica (in turn), else the primary. */
  forReads(reader?: string): Database {
    const wroteAt = reader ? this.recentWriters.get(reader) : undefined;
    const usable = this.replicas.filter((replica) => replica.state.usable);
    if ((wroteAt !== undefined && Date.now() - wroteAt < this.maxLagMs) || usable.length === 0) {
      this.reads.primary += 1;
      return this.primary;
    }
    const replica = usable[this.turn++ % usable.length]!;
    this.reads.replica += 1;
    return this.withFallback(replica);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.replicas.map((replica) => replica.db.close().catch(() => undefined)));
  }

  /** A replica that, failing, marks itself down and hands the read to the primary (reads are safe to repeat). */
  private withFallback(replica: Replica): Database {
    const fallback = async <T>(error: unknown, onPrimary: () => Promise<T>): Promise<T> => {
      replica.state = { ...replica.state, up: false, usable: false, lagSeconds: null, bytesBehind: null };
      this.reads.fallback += 1;
      this.log.warn({ replica: replica.state.name, err: error }, 'read replica failed: reading from the primary');
      return onPrimary();
    };
    return {
      ...replica.db,
      query: <Row>(sql: string, params?: unknown[]) =>
        replica.db
          .query<Row>(sql, params)
          .catch((error: unknown) => fallback(error, () => this.primary.query<Row>(sql, params))),
      transaction: (work, options) =>
        replica.db
          .transaction(work, options)
          .catch((error: unknown) => fallback(error, () => this.primary.transaction(work, options))),
    };
  }

  private async probe(): Promise<void> {
    let primaryLsn: string;
    try {
      const { rows } = await this.primary.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`);
      primaryLsn = rows[0]!.lsn;
    } catch {
      return; // the primary is unreachable: nothing to compare with; keep the last states
    }
    await Promise.all(
      this.replicas.map(async (replica) => {
        try {
          const { rows } = await replica.db.query<{ behind: string | number; lag: string | number }>(
            `SELECT CASE WHEN pg_is_in_recovery()
                         THEN greatest(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0) ELSE 0 END AS behind,
                    CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 0
                         ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS lag`,
            [primaryLsn],
          );
          const lagSeconds = Math.max(0, Number(rows[0]?.lag ?? 0));
          const usable = lagSeconds * 1000 <= this.maxLagMs;
          if (replica.state.usable && !usable) {
            this.log.warn({ replica: replica.state.name, lagSeconds }, 'read replica too far behind: skipped');
          }
          replica.state = {
            ...replica.state,
            up: true,
            lagSeconds,
            bytesBehind: Number(rows[0]?.behind ?? 0),
            usable,
          };
        } catch (error) {
          if (replica.state.up) this.log.warn({ replica: replica.state.name, err: error }, 'read replica down');
          replica.state = { ...replica.state, up: false, lagSeconds: null, bytesBehind: null, usable: false };
        }
      }),
    );
  }
}
