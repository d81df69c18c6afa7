import type { HybridLogicalClock } from '@lifeline/core';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { PieceBucket } from './db/attachments';
import type { Database } from './db/database';
import type { ReadReplicas } from './db/replicas';
import type { Metrics } from './metrics';

/** Everything a service needs, built once at start-up and passed down (no globals). */
export interface ServerContext {
  config: Config;
  db: Database;
  /** Shared by every instance on one database: cursors and conflicts name it. */
  serverId: string;
  clock: HybridLogicalClock;
  metrics: Metrics;
  log: Logger;
  /** Hub mode: the upstream worker, told when local changes land. */
  upstream?: { kick(): void; status(): Promise<unknown> };
  /** Read replicas, when DATABASE_READ_URLS names any. */
  reads?: ReadReplicas;
  /** Set once SIGTERM arrived: /readyz fails so load balancers drain this instance. */
  draining?: boolean;
  /** Told of every push and pull, so background work can wait for quiet. */
  syncActivity?: () => void;
  /** ATTACHMENT_STORE=s3: attachment bytes go to this bucket; unset, they stay in Postgres. */
  attachmentBucket?: PieceBucket;
}
