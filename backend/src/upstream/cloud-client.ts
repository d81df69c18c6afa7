/** The hub's HTTP client for the cloud: a device with an API key, with timeouts. */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Change, ChangeResult } from '@lifeline/core';
import type { RemoteRecord } from '../services/merge-remote';

const gzip = promisify(zlib.gzip);
/** Smaller bodies gain nothing from gzip. */
const COMPRESS_FROM_CHARS = 1024;

/** Why a round with the cloud failed: unreachable (retry), or refused (needs a person). */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    message: string,
    readonly kind: 'unreachable' | 'refused' | 'cursor_mismatch' | 'protocol',
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface CloudStatus {
  serverId: string;
  communityId?: string;
  communityName?: string;
}

export class CloudClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs = 15_000,
    /** Aborted when the hub shuts down, so a hanging request does not hold the exit. */
    private readonly stopSignal?: AbortSignal,
  ) {}

  status(): Promise<CloudStatus> {
    return this.call<CloudStatus>('GET', '/api/sync/status');
  }

  push(clientId: string, changes: Change[]): Promise<{ results: ChangeResult[] }> {
    return this.call('POST', '/api/sync/push', { clientId, changes });
  }

  pull(
    clientId: string,
    cursor: string | null,
    limit: number,
  ): Promise<{ records: RemoteRecord[]; cursor: string; hasMore: boolean }> {
    return this.call('POST', '/api/sync/pull', { clientId, cursor, limit });
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    // Pushes go up gzip-compressed and answers come down compressed: the hub's link may be a satellite.
    const json = body === undefined ? undefined : JSON.stringify(body);
    const compressed = json !== undefined && json.length >= COMPRESS_FROM_CHARS ? await gzip(json) : undefined;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          'accept-encoding': 'br, gzip',
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          ...(compressed ? { 'content-encoding': 'gzip' } : {}),
        },
        body: compressed ?? json,
        signal: this.stopSignal
          ? AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopSignal])
          : AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new UpstreamError(`cloud unreachable (${reason})`, 'unreachable');
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new UpstreamError(
        `cloud answered ${response.status} with non-JSON`,
        response.status >= 500 ? 'unreachable' : 'protocol',
        response.status,
      );
    }
    if (response.ok) return parsed as T;
    const code = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const message = `cloud answered ${response.status} ${code?.code ?? ''}: ${code?.message ?? ''}`.trim();
    if (response.status === 409 && code?.code === 'cursor_mismatch')
      throw new UpstreamError(message, 'cursor_mismatch', 409);
    if (response.status >= 500 || response.status === 429)
      throw new UpstreamError(message, 'unreachable', response.status);
    throw new UpstreamError(
      message,
      response.status === 401 || response.status === 403 ? 'refused' : 'protocol',
      response.status,
    );
  }
}
