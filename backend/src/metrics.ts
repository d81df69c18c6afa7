/** Prometheus metrics (prom-client), one registry per server so tests can run several in a process. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'lifeline_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'lifeline_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    pushedChanges: new Counter({
      name: 'lifeline_sync_push_changes_total',
      help: 'Changes received by push, by result status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    pulledRecords: new Counter({
      name: 'lifeline_sync_pull_records_total',
      help: 'Records sent by pull',
      registers: [registry],
    }),
    syncRequests: new Counter({
      name: 'lifeline_sync_requests_total',
      help: 'Push and pull requests',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'lifeline_conflicts_total',
      help: 'Conflicts detected and resolved',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'lifeline_auth_failures_total',
      help: 'Failed authentication attempts by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    attachmentBytes: new Counter({
      name: 'lifeline_attachment_bytes_received_total',
      help: 'Attachment bytes stored by uploads (counted when committed)',
      registers: [registry],
    }),
    attachmentUploads: new Counter({
      name: 'lifeline_attachment_uploads_total',
      help: 'Uploads that reached their last byte, by outcome (complete, hash_mismatch, unsupported_type)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    attachmentUploadsExpired: new Counter({
      name: 'lifeline_attachment_uploads_expired_total',
      help: 'Unfinished uploads deleted after ATTACHMENT_UPLOAD_EXPIRY_HOURS without a piece or a declaration',
      registers: [registry],
    }),
    upstreamAttachmentBytes: new Counter({
      name: 'lifeline_upstream_attachment_bytes_total',
      help: 'Hub only: attachment bytes moved with the cloud, by direction (up: sent, down: stored here)',
      labelNames: ['direction'] as const,
      registers: [registry],
    }),
    upstreamAttachmentTransfers: new Counter({
      name: 'lifeline_upstream_attachment_transfers_total',
      help: 'Hub only: attachments moved whole with the cloud, by direction',
      labelNames: ['direction'] as const,
      registers: [registry],
    }),
    clampedStamps: new Counter({
      name: 'lifeline_clamped_changes_total',
      help: 'Changes whose stamps were clamped for being too far in the future',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What a server reports about its state, read when Prometheus scrapes (never kept up to date in between). */
export interface StateSources {
  openConflicts(): Promise<number>;
  pool?(): { max: number; total: number; idle: number; waiting: number };
  upstream?(): Promise<{
    state: string;
    pendingUp: number;
    rejectedUp: number;
    attachments?: { pendingUp: number; pendingDown: number; failedUp: number; failedDown: number };
  }>;
  replicas?: {
    states(): Array<{ name: string; up: boolean; lagSeconds: number | null; usable: boolean }>;
    reads: { replica: number; primary: number; fallback: number };
  };
}

export const UPSTREAM_STATES = ['starting', 'online', 'offline', 'error'] as const;

export function registerStateMetrics(metrics: Metrics, sources: StateSources): void {
  const registers = [metrics.registry];
  // First: read the pool before this scrape's own queries (open conflicts) queue on it.
  if (sources.pool) {
    const pool = sources.pool;
    new Gauge({
      name: 'lifeline_db_pool_connections',
      help: 'Database pool connections by state (max is the pool size)',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const stats = pool();
        this.set({ state: 'max' }, stats.max);
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'in_use' }, stats.total - stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }
  new Gauge({
    name: 'lifeline_open_conflicts',
    help: 'Conflicts waiting for a coordinator, all communities',
    registers,
    async collect() {
      this.set(await sources.openConflicts().catch(() => NaN));
    },
  });
  if (sources.replicas) {
    const replicas = sources.replicas;
    new Gauge({
      name: 'lifeline_db_replica_lag_seconds',
      help: 'How far each read replica is behind the primary (NaN while it is down)',
      labelNames: ['replica'] as const,
      registers,
      collect() {
        for (const state of replicas.states()) this.set({ replica: state.name }, state.lagSeconds ?? NaN);
      },
    });
    new Gauge({
      name: 'lifeline_db_replica_up',
      help: 'Whether each read replica answers and is close enough to serve reads (1) or is skipped (0)',
      labelNames: ['replica'] as const,
      registers,
      collect() {
        for (const state of replicas.states()) this.set({ replica: state.name }, state.usable ? 1 : 0);
      },
    });
    const reported = { replica: 0, primary: 0, fallback: 0 };
    new Counter({
      name: 'lifeline_db_reads_total',
      help: 'Reads routed: to a replica, to the primary, or to the primary after a replica failed (fallback)',
      labelNames: ['target'] as const,
      registers,
      collect() {
        for (const target of ['replica', 'primary', 'fallback'] as const) {
          this.inc({ target }, replicas.reads[target] - reported[target]);
          reported[target] = replicas.reads[target];
        }
      },
    });
  }
  if (sources.upstream) {
    const upstream = sources.upstream;
    const read = () => upstream().catch(() => null);
    new Gauge({
      name: 'lifeline_upstream_state',
      help: "Hub only: 1 for the upstream link's current state (online, offline, error, starting)",
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const status = await read();
        for (const state of UPSTREAM_STATES) this.set({ state }, status?.state === state ? 1 : 0);
      },
    });
    new Gauge({
      name: 'lifeline_upstream_queue_depth',
      help: 'Hub only: changes accepted here and not yet acknowledged by the cloud, by state',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const status = await read();
        this.set({ state: 'pending' }, status?.pendingUp ?? NaN);
        this.set({ state: 'rejected' }, status?.rejectedUp ?? NaN);
      },
    });
    new Gauge({
      name: 'lifeline_upstream_attachments_pending',
      help: 'Hub only: attachments still to move with the cloud, by direction and state (pending, or set aside after a refusal)',
      labelNames: ['direction', 'state'] as const,
      registers,
      async collect() {
        const counts = (await read())?.attachments;
        this.set({ direction: 'up', state: 'pending' }, counts?.pendingUp ?? NaN);
        this.set({ direction: 'up', state: 'failed' }, counts?.failedUp ?? NaN);
        this.set({ direction: 'down', state: 'pending' }, counts?.pendingDown ?? NaN);
        this.set({ direction: 'down', state: 'failed' }, counts?.failedDown ?? NaN);
      },
    });
  }
}
