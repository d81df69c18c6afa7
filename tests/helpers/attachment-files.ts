/**
 * Small real files for attachment tests (PNG built from scratch, JPEG/PDF
 * with real headers) and a client for the upload protocol that speaks raw
 * bytes: POST declares, HEAD asks the offset, PATCH appends, GET downloads.
 */
import { createHash, randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid RGB PNG of `width`×`height` random pixels (random pixels do not
 * compress: about 3 bytes a pixel), so each call gives a different file.
 */
export function makePng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, deflate, no filter method, no interlace
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y += 1) rows.push(Buffer.concat([Buffer.from([0]), randomBytes(width * 3)]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows), { level: 0 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JFIF header, `size` bytes of (random) entropy-coded data, and the end marker. */
export function makeJpeg(size = 2000): Buffer {
  const app0 = Buffer.from([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
    0x00,
  ]);
  return Buffer.concat([app0, randomBytes(size), Buffer.from([0xff, 0xd9])]);
}

/** A one-page PDF (with a random comment, so each call gives a different file). */
export function makePdf(): Buffer {
  return Buffer.from(
    `%PDF-1.4\n% ${randomBytes(8).toString('hex')}\n` +
      '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
      '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n' +
      '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n' +
      'trailer << /Root 1 0 R >>\n%%EOF\n',
  );
}

export const UPLOAD_TYPE = 'application/offset+octet-stream';

export interface RawReply {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  /** The parsed JSON body, if it was JSON. */
  body: any;
}

/** Who is asking: a member's cookie, a hub's bearer key, or nobody. */
export type Credentials = Record<string, string>;

export const asMember = (cookie: string | undefined): Credentials => (cookie ? { cookie } : {});
export const asHub = (apiKey: string): Credentials => ({ authorization: `Bearer ${apiKey}` });

export class AttachmentClient {
  constructor(
    public baseUrl: string,
    readonly credentials: Credentials,
  ) {}

  async request(
    method: string,
    path: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
  ): Promise<RawReply> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { ...this.credentials, ...headers },
      body: body as BodyInit | undefined,
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    let parsed: unknown;
    try {
      parsed = bytes.length > 0 ? JSON.parse(Buffer.from(bytes).toString('utf8')) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, bytes, body: parsed };
  }

  declare(body: unknown): Promise<RawReply> {
    return this.request('POST', '/api/attachments', JSON.stringify(body), { 'content-type': 'application/json' });
  }

  head(hash: string): Promise<RawReply> {
    return this.request('HEAD', `/api/attachments/${hash}`);
  }

  /** The server's Upload-Offset, or null when HEAD is not 200. */
  async offset(hash: string): Promise<number | null> {
    const reply = await this.head(hash);
    return reply.status === 200 ? Number(reply.headers.get('upload-offset')) : null;
  }

  patch(hash: string, offset: number | string | null, bytes: Uint8Array, headers: Record<string, string> = {}) {
    return this.request('PATCH', `/api/attachments/${hash}`, bytes, {
      'content-type': UPLOAD_TYPE,
      ...(offset === null ? {} : { 'upload-offset': String(offset) }),
      ...headers,
    });
  }

  get(hash: string, headers: Record<string, string> = {}): Promise<RawReply> {
    return this.request('GET', `/api/attachments/${hash}`, undefined, headers);
  }

  /** Declare and send `file` in pieces of `pieceBytes`; answers the last PATCH. */
  async upload(file: Uint8Array, name?: string, pieceBytes = 1024 * 1024): Promise<RawReply> {
    const hash = sha256(file);
    const declared = await this.declare({ hash, size: file.length, ...(name ? { name } : {}) });
    if (declared.status !== 201 && declared.status !== 200) {
      throw new Error(`declare failed: ${declared.status} ${JSON.stringify(declared.body)}`);
    }
    let offset = declared.body.attachment.received as number;
    let last: RawReply | undefined;
    while (offset < file.length) {
      last = await this.patch(hash, offset, file.subarray(offset, offset + pieceBytes));
      if (last.status !== 204 && last.status !== 200) {
        throw new Error(`patch failed at ${offset}: ${last.status} ${JSON.stringify(last.body)}`);
      }
      offset = Number(last.headers.get('upload-offset'));
    }
    return last ?? (await this.patch(hash, offset, new Uint8Array(0)));
  }
}
