/** Prometheus metrics (prom-client), one registry per server so tests can run several in a process. */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

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
    clampedStamps: new Counter({
      name: 'lifeline_clamped_changes_total',
      help: 'Changes whose stamps were clamped for being too far in the future',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
