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

export interface AttachmentListing {
  attachments: Array<{ hash: string; size: number; type: string; name: string | null }>;
  cursor: string | null;
  hasMore: boolean;
}

function errorOf(text: string): { code?: string; message?: string } | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
  } catch {
    return undefined;
  }
}

/** A refusal as an UpstreamError: 5xx and 429 are worth retrying soon, the rest need something to change. */
function failure(status: number, error: { code?: string; message?: string } | undefined): UpstreamError {
  const message = `cloud answered ${status} ${error?.code ?? ''}: ${error?.message ?? ''}`.trim();
  if (status >= 500 || status === 429) return new UpstreamError(message, 'unreachable', status);
  return new UpstreamError(message, status === 401 || status === 403 ? 'refused' : 'protocol', status);
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

  /** Hubs only: the community's complete attachments after `after`, in a stable order. */
  listAttachments(after: string | null, limit: number): Promise<AttachmentListing> {
    const query = new URLSearchParams({ limit: String(limit), ...(after ? { after } : {}) });
    return this.call('GET', `/api/attachments?${query}`);
  }

  /** Declare a file about to be sent (or learn how much of it the cloud holds). */
  declareAttachment(declaration: { hash: string; size: number; name: string | null }): Promise<{
    attachment: { hash: string; size: number; received: number; complete: boolean };
  }> {
    return this.call('POST', '/api/attachments', declaration);
  }

  /**
   * Append `bytes` at `offset`: answers the cloud's offset afterwards and
   * whether the file is complete; a 409 offset_mismatch answers where the
   * cloud really stands (resume from there), other refusals throw.
   */
  async appendAttachment(
    hash: string,
    offset: number,
    bytes: Uint8Array,
    timeoutMs: number,
  ): Promise<{ offset: number; complete: boolean; mismatch?: true }> {
    const response = await this.send(`/api/attachments/${hash}`, AbortSignal.timeout(timeoutMs), {
      method: 'PATCH',
      headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
      body: bytes as Uint8Array<ArrayBuffer>,
    });
    const text = await response.text().catch(() => '');
    const at = Number(response.headers.get('upload-offset'));
    if (response.status === 204) return { offset: at, complete: false };
    if (response.status === 200) return { offset: at, complete: true };
    const error = errorOf(text);
    if (response.status === 409 && error?.code === 'offset_mismatch' && Number.isFinite(at)) {
      return { offset: at, complete: false, mismatch: true };
    }
    throw failure(response.status, error);
  }

  /**
   * A complete attachment's bytes from byte `from` on (`Range`): the answer
   * with its body unread. `signal` ends it (the caller aborts when no bytes
   * came for a while: a whole-file deadline would fail large files on a slow link).
   */
  async downloadAttachment(hash: string, from: number, signal: AbortSignal): Promise<Response> {
    const response = await this.send(`/api/attachments/${hash}`, signal, {
      method: 'GET',
      headers: from > 0 ? { range: `bytes=${from}-` } : {},
    });
    if (response.status === 200 || response.status === 206) return response;
    throw failure(response.status, errorOf(await response.text().catch(() => '')));
  }

  /** One request with the hub's key, ended by `signal` or the hub's stop. */
  private async send(path: string, signal: AbortSignal, init: RequestInit & { headers: Record<string, string> }) {
    try {
      return await fetch(this.baseUrl + path, {
        ...init,
        headers: { authorization: `Bearer ${this.apiKey}`, ...init.headers },
        signal: this.stopSignal ? AbortSignal.any([signal, this.stopSignal]) : signal,
      });
    } catch (error) {
      const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new UpstreamError(`cloud unreachable (${reason})`, 'unreachable');
    }
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
