/**
 * Compressed answers: brotli or gzip, as the client accepts (the `compression`
 * middleware). Sync pages shrink several times over, which is what matters on
 * a satellite link or a congested mobile network. Live answers (SSE) are left
 * alone: each event must reach the browser as it is written. So are served
 * attachments: JPEG, PNG, WebP and PDF are compressed already, and their
 * exact Content-Length (and ETag) must reach the client as sent.
 *
 * Compressed requests need nothing here: the JSON parser inflates gzip,
 * deflate and br bodies, and its 5 MB limit counts the inflated bytes, so a
 * small compressed bomb is refused with 413 before anything is stored.
 */
import compression from 'compression';
import type { Request, Response } from 'express';

/** Bodies smaller than this cost more to compress than they save. */
const THRESHOLD_BYTES = 1024;

const ALREADY_COMPRESSED = new Set(['image/jpeg', 'image/png', 'image/webp', 'application/pdf']);

export function compressResponses() {
  return compression({
    threshold: THRESHOLD_BYTES,
    filter: (req: Request, res: Response) => {
      const type = String(res.getHeader('Content-Type') ?? '');
      if (type.startsWith('text/event-stream')) return false;
      if (ALREADY_COMPRESSED.has(type.split(';')[0]!.trim().toLowerCase())) return false;
      return compression.filter(req, res);
    },
  });
}
