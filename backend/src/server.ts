/**
 * Start-up and shut-down: open and migrate the database, establish the
 * server's identity, build the app, listen. Used by main.ts and by tests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { HybridLogicalClock } from '@lifeline/core';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { S3ObjectStore } from './blobs/object-store';
import { createApp } from './app';
import { startBackgroundIndexing } from './assistant/background-indexing';
import { catchUpIndex } from './assistant/indexer';
import type { Config } from './config';
import type { ServerContext } from './context';
import { openDatabase } from './db/open';
import { getOrCreateMeta } from './db/server-meta';
import { countOpenConflicts } from './db/records';
import { ReadReplicas } from './db/replicas';
import { deleteExpiredSessions } from './db/sessions';
import { createMetrics, registerStateMetrics } from './metrics';
import { expireAbandonedUploads, uploadSweepIntervalMs } from './services/attachments';
import { rebaseIfRestored } from './services/restore-guard';
import { UpstreamWorker } from './upstream/worker';

export interface RunningServer {
  url: string;
  port: number;
  ctx: ServerContext;
  /** Fail /readyz, keep serving for SHUTDOWN_DRAIN_MS, stop accepting, finish in-flight requests (up to `graceMs`), close the database. */
  close(graceMs?: number): Promise<void>;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'lifeline' },
    // Never log credentials, even by accident.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.apiKey'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export async function startServer(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const db = await openDatabase(config, (message) => log.warn({ migration: true }, message));
  // Before the server id is read: a restored or moved database gets a new one.
  await rebaseIfRestored(db, log);
  const serverId = await getOrCreateMeta(db, 'server_id', () => randomUUID());
  const sessionSecret =
    config.sessionSecret ?? (await getOrCreateMeta(db, 'session_secret', () => randomBytes(32).toString('base64url')));
  // Each instance stamps with its own node id, so two instances never issue the same stamp.
  const nodeId = `s${serverId.replace(/-/g, '').slice(0, 8)}${randomBytes(3).toString('hex')}`;
  const ctx: ServerContext = {
    config,
    db,
    serverId,
    clock: new HybridLogicalClock(nodeId),
    metrics: createMetrics(),
    log,
  };
  if (config.attachments.s3) {
    const bucket = new S3ObjectStore(config.attachments.s3);
    // A wrong endpoint or key stops the start here, not the first photo.
    await bucket.ensureBucket();
    ctx.attachmentBucket = { store: bucket, prefix: config.attachments.s3.prefix };
  }
  if (config.readReplicas.urls.length > 0 && db.kind === 'postgres') {
    ctx.reads = new ReadReplicas(db, config.readReplicas.urls, config.readReplicas.maxLagMs, log);
    await ctx.reads.start();
  }
  const upstream = config.upstream ? new UpstreamWorker(ctx, config.upstream) : undefined;
  ctx.upstream = upstream;
  registerStateMetrics(ctx.metrics, {
    openConflicts: () => countOpenConflicts(db, null),
    pool: db.poolStats?.bind(db),
    upstream: upstream ? () => upstream.status() : undefined,
    replicas: ctx.reads,
  });
  const app = createApp(ctx, { sessionSecret });
  const server = config.tls
    ? https.createServer({ cert: config.tls.cert, key: config.tls.key }, app)
    : http.createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  upstream?.start();
  const sweeper = setInterval(() => void deleteExpiredSessions(db).catch(() => undefined), 60 * 60 * 1000);
  sweeper.unref();
  // Abandoned uploads stop counting against the quota (declarations also clear their own community's first).
  let uploadSweep: Promise<unknown> | undefined;
  const uploadSweeper = setInterval(() => {
    uploadSweep ??= expireAbandonedUploads(ctx)
      .catch((error: unknown) => log.warn({ err: error }, 'sweeping abandoned uploads failed'))
      .finally(() => {
        uploadSweep = undefined;
      });
  }, uploadSweepIntervalMs(config.attachments.uploadExpiryMs));
  uploadSweeper.unref();
  const indexing = startBackgroundIndexing(() => catchUpIndex(db), log);
  ctx.syncActivity = indexing.noteSyncActivity;

  let closing: Promise<void> | undefined;
  return {
    url: `${config.tls ? 'https' : 'http'}://${config.host && config.host !== '0.0.0.0' ? config.host : 'localhost'}:${port}`,
    port,
    ctx,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        // Fail readiness first and keep serving a while, so the load balancer moves traffic away.
        ctx.draining = true;
        if (config.shutdownDrainMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
        clearInterval(sweeper);
        clearInterval(uploadSweeper);
        await uploadSweep;
        indexing.stop();
        await upstream?.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        await ctx.reads?.close();
        await db.close();
      })();
      return closing;
    },
  };
}
