/**
 * Fetch client for the contract in DESIGN.md section 4. Every failure becomes
 * an ApiError with a stable code, so callers branch on `code`/`status`
 * (401 → sign in again, 409 cursor_mismatch → re-pull, 0 → offline).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Other members of the server's error object (contract extensions, e.g. `restored` on cursor_mismatch). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** Worth trying again later: offline, timeouts, rate limits and server trouble. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** A request that got no answer (status 0): the server took too long, or could not be reached. */
export function unreachable(cause: unknown): ApiError {
  const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
  return new ApiError(
    0,
    timedOut ? 'timeout' : 'network',
    timedOut ? 'The server took too long to answer.' : 'Cannot reach the server.',
  );
}

export interface ApiClientOptions {
  /** Empty for same-origin in the browser; a full origin in tests and scripts. */
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Send bodies over 1 KB gzip-compressed where the browser can (default on). */
  compressRequests?: boolean;
}

/** Smaller bodies gain nothing from gzip. */
const COMPRESS_FROM_CHARS = 1024;

/**
 * A JSON body, gzip-compressed when it is large enough and the runtime has
 * CompressionStream: a push of a few hundred edits shrinks several times
 * over on a slow link. The server inflates it (and counts its 5 MB limit
 * on the inflated bytes).
 */
async function encodeBody(json: string, compress: boolean): Promise<{ body: BodyInit; encoding?: string }> {
  if (!compress || json.length < COMPRESS_FROM_CHARS || typeof CompressionStream === 'undefined') return { body: json };
  const stream = new Blob([json]).stream().pipeThrough(new CompressionStream('gzip'));
  return { body: await new Response(stream).arrayBuffer(), encoding: 'gzip' };
}

export type ApiClient = ReturnType<typeof createApiClient>;

export function createApiClient(options: ApiClientOptions = {}) {
  const baseUrl = options.baseUrl ?? '';
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const compressRequests = options.compressRequests ?? true;

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    const encoded = body === undefined ? undefined : await encodeBody(JSON.stringify(body), compressRequests);
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        credentials: 'same-origin',
        headers:
          encoded === undefined
            ? { accept: 'application/json' }
            : {
                'content-type': 'application/json',
                accept: 'application/json',
                ...(encoded.encoding ? { 'content-encoding': encoded.encoding } : {}),
              },
        body: encoded?.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw unreachable(cause);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: unknown } | undefined)?.error;
      const body = (typeof error === 'object' && error !== null ? error : {}) as {
        code?: string;
        message?: string;
        [extra: string]: unknown;
      };
      const { code, message, ...details } = body;
      throw new ApiError(
        response.status,
        code ?? `http_${response.status}`,
        message ?? `The server answered ${response.status} ${response.statusText}.`,
        details,
      );
    }
    return parsed as T;
  }

  return {
    request,
    get: <T>(path: string) => request<T>('GET', path),
    post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
    patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
    del: <T>(path: string) => request<T>('DELETE', path),
  };
}
