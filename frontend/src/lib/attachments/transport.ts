/**
 * The /api/attachments calls (backend/src/services/attachments.ts has the
 * protocol): declare, ask where an upload stands (HEAD), append a piece at
 * exactly that offset (PATCH), download. Failures are ApiErrors like the
 * rest of the API client's, so the queue branches on status and code.
 */
import { ApiError, unreachable } from '$lib/api/client';

export const UPLOAD_CONTENT_TYPE = 'application/offset+octet-stream';

export interface UploadState {
  /** Bytes the server holds. */
  offset: number;
  complete: boolean;
}

export interface AttachmentTransport {
  declare(hash: string, size: number, name?: string): Promise<UploadState>;
  /** HEAD: the server's offset (a 404 when it was never declared). */
  offset(hash: string): Promise<number>;
  /** PATCH one piece at `offset`; a 409 offset_mismatch carries the server's offset in `details.offset`. */
  append(hash: string, offset: number, piece: Blob): Promise<UploadState>;
  /** GET the bytes (404 unknown, 409 still uploading). */
  download(hash: string): Promise<Blob>;
}

export interface TransportOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

async function failure(response: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; [extra: string]: unknown } } | undefined;
  try {
    body = (await response.json()) as typeof body;
  } catch {
    body = undefined;
  }
  const { code, message, ...details } = body?.error ?? {};
  const header = response.headers.get('upload-offset');
  if (details.offset === undefined && header !== null) details.offset = Number(header);
  return new ApiError(
    response.status,
    code ?? (response.status === 404 ? 'not_found' : `http_${response.status}`),
    message ?? `The server answered ${response.status}.`,
    details,
  );
}

export function createAttachmentTransport(options: TransportOptions = {}): AttachmentTransport {
  const baseUrl = options.baseUrl ?? '';
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function call(method: string, hash: string | null, init: RequestInit = {}): Promise<Response> {
    const path = hash === null ? '/api/attachments' : `/api/attachments/${hash}`;
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        ...init,
        method,
        credentials: 'same-origin',
        cache: 'no-store',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw unreachable(cause);
    }
    if (!response.ok) throw await failure(response);
    return response;
  }

  return {
    async declare(hash, size, name) {
      const response = await call('POST', null, {
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(name ? { hash, size, name } : { hash, size }),
      });
      const { attachment } = (await response.json()) as { attachment: { received: number; complete: boolean } };
      return { offset: attachment.received, complete: attachment.complete };
    },
    async offset(hash) {
      const response = await call('HEAD', hash);
      return Number(response.headers.get('upload-offset') ?? 0);
    },
    async append(hash, offset, piece) {
      const response = await call('PATCH', hash, {
        headers: { 'content-type': UPLOAD_CONTENT_TYPE, 'upload-offset': String(offset) },
        body: await piece.arrayBuffer(),
      });
      const next = Number(response.headers.get('upload-offset') ?? offset + piece.size);
      if (response.status === 200) {
        const { attachment } = (await response.json()) as { attachment: { received: number; complete: boolean } };
        return { offset: attachment.received, complete: attachment.complete };
      }
      return { offset: next, complete: false };
    },
    async download(hash) {
      const response = await call('GET', hash);
      try {
        return await response.blob();
      } catch {
        throw new ApiError(0, 'network', 'The download was cut off.');
      }
    },
  };
}
