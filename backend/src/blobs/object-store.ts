/**
 * Where attachment bytes live when they do not live in Postgres: an
 * S3-compatible bucket (ATTACHMENT_STORE=s3), for deployments whose photos
 * outgrow the database. Postgres still holds every attachment's row and the
 * list of its pieces (which offsets, how long), so what an upload has
 * received is decided by one transaction as before; a piece is written to
 * the bucket first and counted only when that transaction commits. A piece
 * written by a request that then failed is overwritten by the retry, which
 * sends the same bytes for the same offset.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../config';

export interface ObjectStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  /** Delete every object whose key starts with `keyPrefix` (none: nothing to do). */
  deleteAll(keyPrefix: string): Promise<void>;
}

/** The bucket key of one stored piece. */
export function pieceKey(prefix: string, communityId: string, hash: string, start: number): string {
  return `${piecesPrefix(prefix, communityId, hash)}${start}`;
}

/** What the keys of every piece of one attachment start with. */
export function piecesPrefix(prefix: string, communityId: string, hash: string): string {
  return `${prefix}${communityId}/${hash}/`;
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;

  constructor(private readonly config: S3Config) {
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle,
      ...(config.accessKeyId && config.secretAccessKey
        ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
        : {}),
      // Checksums only where S3 requires them: S3-compatible stores do not all read aws-chunked bodies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** At start-up: the bucket must be reachable (created when it is missing and we may). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw error;
      await this.client.send(new CreateBucketCommand({ Bucket: this.config.bucket }));
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.config.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: 'application/octet-stream',
      }),
    );
  }

  async get(key: string): Promise<Uint8Array> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
    if (!answer.Body) throw new Error(`object ${key} has no body`);
    return answer.Body.transformToByteArray();
  }

  /**
   * One DELETE per object (a file has at most a few dozen pieces): plain
   * DeleteObject works on every S3-compatible store, where the batch call
   * needs a checksum header not all of them read.
   */
  async deleteAll(keyPrefix: string): Promise<void> {
    let token: string | undefined;
    do {
      const listed = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: keyPrefix, ContinuationToken: token }),
      );
      for (const object of listed.Contents ?? []) {
        if (object.Key)
          await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: object.Key }));
      }
      token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
    } while (token);
  }

  close(): void {
    this.client.destroy();
  }
}
