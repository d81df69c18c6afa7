/**
 * Extension: photos and files (services/attachments.ts has the protocol).
 * POST declares, HEAD says where an upload stands, PATCH appends, GET serves.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { drainedOrClosed } from '../http/backpressure';
import type { ServerContext } from '../context';
import { AppError, badRequest, forbidden } from '../errors';
import { requirePrincipal } from '../http/authenticate';
import { parse } from '../http/validate';
import {
  appendToUpload,
  attachmentHashSchema,
  declarationSchema,
  declareAttachment,
  MAX_PATCH_BYTES,
  listAttachments,
  listingQuerySchema,
  openDownload,
  uploadStatus,
} from '../services/attachments';

export const UPLOAD_CONTENT_TYPE = 'application/offset+octet-stream';

const hashParam = (req: Request) => parse(attachmentHashSchema, req.params.hash, 'hash', 'invalid_attachment');

function uploadOffset(req: Request): number {
  const header = req.get('upload-offset');
  if (header === undefined || !/^\d{1,15}$/.test(header.trim())) {
    throw badRequest('invalid_offset', 'send Upload-Offset: the number of bytes the server has (ask with HEAD)');
  }
  return Number(header.trim());
}

/** Read a piece of at most 4 MiB, only for a known caller and only of the upload media type. */
function uploadBody() {
  const raw = express.raw({ type: UPLOAD_CONTENT_TYPE, limit: MAX_PATCH_BYTES });
  return (req: Request, res: Response, next: NextFunction): void => {
    requirePrincipal(req);
    const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== UPLOAD_CONTENT_TYPE) {
      throw new AppError(415, 'unsupported_media_type', `send the bytes as Content-Type: ${UPLOAD_CONTENT_TYPE}`);
    }
    raw(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === 'entity.too.large') {
        next(new AppError(413, 'payload_too_large', `send at most ${MAX_PATCH_BYTES} bytes per PATCH`));
      } else {
        next(error);
      }
    });
  };
}

/** Write the chunks as the client takes them; stop (closing the reader) if it goes away. */
async function send(res: Response, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      await drainedOrClosed(res);
    }
  }
  res.end();
}

export function attachmentRoutes(ctx: ServerContext): Router {
  const router = Router();

  // Upload state and refusals are never cached; a served file overrides this.
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.post('/', async (req, res) => {
    const principal = requirePrincipal(req);
    const input = parse(declarationSchema, req.body, 'request body', 'invalid_attachment');
    const { created, attachment } = await declareAttachment(ctx, principal.communityId, input);
    res.status(created ? 201 : 200).json({ attachment });
  });

  // Hubs only (a member lists files through the records that name them).
  router.get('/', async (req, res) => {
    const principal = requirePrincipal(req);
    if (principal.kind !== 'hub') throw forbidden('listing every attachment is for hubs');
    const query = parse(listingQuerySchema, req.query, 'query', 'invalid_listing');
    res.json(await listAttachments(ctx, principal.communityId, query));
  });

  // Before GET: Express would otherwise answer HEAD with the GET handler.
  router.head('/:hash', async (req, res) => {
    const principal = requirePrincipal(req);
    const upload = await uploadStatus(ctx, principal.communityId, hashParam(req));
    res.setHeader('Upload-Offset', String(upload.offset));
    res.setHeader('Upload-Length', String(upload.length));
    res.status(200).end();
  });

  router.patch('/:hash', uploadBody(), async (req, res) => {
    const principal = requirePrincipal(req);
    const bytes: Uint8Array = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await appendToUpload(ctx, principal.communityId, hashParam(req), uploadOffset(req), bytes);
    res.setHeader('Upload-Offset', String(result.attachment.received));
    // A hub sends a file it now holds whole to the cloud soon, not at the next period.
    if (result.done) ctx.upstream?.kick();
    if (result.done) res.status(200).json({ attachment: result.attachment });
    else res.status(204).end();
  });

  router.get('/:hash', async (req, res) => {
    const principal = requirePrincipal(req);
    const download = await openDownload(
      ctx,
      principal.communityId,
      hashParam(req),
      req.get('if-none-match'),
      req.get('range'),
    );
    res.status(download.status);
    for (const [name, value] of Object.entries(download.headers)) res.setHeader(name, value);
    if (download.status === 304) res.end();
    else await send(res, download.body);
  });

  return router;
}
