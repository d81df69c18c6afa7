/**
 * The wire contract (DESIGN.md section 4) as zod schemas, used by the server
 * to validate requests and by the browser to validate what it stores.
 * Extend with optional fields only; never rename or drop.
 */
import { z } from 'zod';
import { isStamp } from './hlc';

export const ENTITY_TYPES = ['update', 'document', 'conflict', 'user'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export const ROLES = ['volunteer', 'coordinator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const UPDATE_KINDS = ['need', 'offer', 'incident', 'status'] as const;
export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export const UPDATE_STATUSES = ['open', 'in_progress', 'resolved'] as const;

export const MAX_PUSH_CHANGES = 500;
export const MAX_PULL_LIMIT = 5000;
export const DEFAULT_PULL_LIMIT = 1000;

/** Any 8-4-4-4-12 hex id, normalised to lower case as Postgres prints it. */
export const uuidSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID')
  .transform((value) => value.toLowerCase());

export const stampSchema = z.string().refine(isStamp, 'must be an HLC stamp <15 digits>:<5 digits>:<nodeId>');
export const isoTimeSchema = z.iso.datetime({ offset: true });

const tagsSchema = z.array(z.string().trim().min(1).max(50)).max(20);

export const locationSchema = z
  .object({
    label: z.string().max(200).optional(),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
  })
  .strict();

/** Lowercase hex SHA-256: how an attachment is named (content-addressed, per community). */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** The file types the server accepts, as it sniffs them from the bytes (never as the client says). */
export const ATTACHMENT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'] as const;
export type AttachmentType = (typeof ATTACHMENT_TYPES)[number];
export const MAX_RECORD_ATTACHMENTS = 10;

const sha256Schema = z.string().regex(SHA256_HEX, 'must be a lowercase hex SHA-256');
const pixelsSchema = z.number().int().min(1).max(100_000);

/**
 * Extension: a record's photos and files, as metadata only; the bytes travel
 * through /api/attachments. A record may name an attachment that has not
 * reached this server yet (it syncs anyway; the bytes follow).
 */
export const attachmentRefSchema = z
  .object({
    hash: sha256Schema,
    type: z.enum(ATTACHMENT_TYPES),
    size: z.number().int().min(1),
    width: pixelsSchema.optional(),
    height: pixelsSchema.optional(),
    thumbnailHash: sha256Schema.optional(),
    name: z.string().max(200).optional(),
  })
  .strict();
export type AttachmentRef = z.infer<typeof attachmentRefSchema>;
const attachmentsSchema = z.array(attachmentRefSchema).max(MAX_RECORD_ATTACHMENTS);

/** Per-field schemas: a change validates only the fields it writes. */
export const updateFieldSchemas = {
  kind: z.enum(UPDATE_KINDS),
  title: z.string().trim().min(1).max(200),
  body: z.string().max(10_000),
  priority: z.enum(PRIORITIES),
  status: z.enum(UPDATE_STATUSES),
  location: locationSchema.nullable(),
  tags: tagsSchema,
  createdBy: z.string().max(100),
  createdAt: isoTimeSchema,
  /** Extension, optional and without a default: records without photos are unchanged. */
  attachments: attachmentsSchema,
} as const;

export const documentFieldSchemas = {
  title: z.string().trim().min(1).max(200),
  body: z.string().max(200_000),
  tags: tagsSchema,
  createdBy: z.string().max(100),
  createdAt: isoTimeSchema,
  /** Extension, optional and without a default. */
  attachments: attachmentsSchema,
} as const;

export const conflictValueSchema = z.object({
  value: z.unknown(),
  stamp: stampSchema,
  changeId: z.string().nullable(),
  author: z.string().nullable(),
  origin: z.string().nullable(),
  clientTime: z.string().nullable(),
});
export type ConflictValue = z.infer<typeof conflictValueSchema>;

export const conflictResolutionSchema = z.union([
  z.object({ value: z.unknown() }).strict(),
  z.object({ deleted: z.boolean() }).strict(),
]);
export type ConflictResolution = z.infer<typeof conflictResolutionSchema>;

export const conflictFieldSchemas = {
  entityType: z.enum(['update', 'document', 'user']),
  entityId: uuidSchema,
  field: z.string().min(1).max(64),
  status: z.enum(['open', 'resolved']),
  values: z.array(conflictValueSchema).min(2).max(10),
  resolvedBy: z.string().nullable(),
  resolvedAt: isoTimeSchema.nullable(),
  resolution: conflictResolutionSchema.nullable(),
} as const;

/**
 * An scrypt hash as the servers write it (`scrypt$N$r$p$salt$key`), with cost
 * bounds: a hub forwards hashes, and a hash with an absurd cost would make
 * every sign-in against it hang or fail.
 */
export const passwordHashSchema = z
  .string()
  .max(512)
  .regex(
    /^scrypt\$(\d{4,7})\$(\d{1,2})\$(\d)\$[A-Za-z0-9+/=]{8,100}\$[A-Za-z0-9+/=]{16,200}$/,
    'must be an scrypt hash',
  )
  .refine((hash) => {
    const [, n, r, p] = hash.split('$').map(Number);
    return n! >= 2 ** 14 && n! <= 2 ** 17 && (n! & (n! - 1)) === 0 && r! >= 1 && r! <= 16 && p! >= 1 && p! <= 4;
  }, 'scrypt cost out of range');

export const userFieldSchemas = {
  email: z.email().max(254),
  displayName: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
  disabled: z.boolean(),
  passwordHash: passwordHashSchema,
} as const;

export const FIELD_SCHEMAS: Record<EntityType, Record<string, z.ZodType>> = {
  update: updateFieldSchemas,
  document: documentFieldSchemas,
  conflict: conflictFieldSchemas,
  user: userFieldSchemas,
};

/** Fields a create must carry; the rest take DEFAULT_FIELDS. */
export const REQUIRED_ON_CREATE: Record<EntityType, readonly string[]> = {
  update: ['kind', 'title'],
  document: ['title'],
  conflict: ['entityType', 'entityId', 'field', 'status', 'values'],
  user: ['email', 'displayName', 'role', 'passwordHash'],
};

export const DEFAULT_FIELDS: Record<EntityType, Record<string, unknown>> = {
  update: { body: '', priority: 'normal', status: 'open', location: null, tags: [] },
  document: { body: '', tags: [] },
  conflict: { resolvedBy: null, resolvedAt: null, resolution: null },
  user: { disabled: false },
};

/** Fields only a server sets (from the authenticated writer and the stamp). */
export const SERVER_SET_FIELDS = ['createdBy', 'createdAt'] as const;

export const DELETED_AT = 'deletedAt';

export const changeSchema = z
  .object({
    changeId: uuidSchema,
    entityType: z.string().min(1).max(32),
    entityId: uuidSchema,
    op: z.enum(['upsert', 'delete']),
    fields: z.record(z.string(), z.unknown()).optional(),
    stamps: z.record(z.string(), z.unknown()),
    base: z.record(z.string(), z.unknown()).optional(),
    clientTime: isoTimeSchema,
    /** Extension: set by a hub forwarding a change written by one of its members. */
    author: z.string().max(100).optional(),
    /** Extension: the replica where the change was first accepted. */
    origin: z.string().max(100).optional(),
  })
  .strict();
export type Change = {
  changeId: string;
  entityType: string;
  entityId: string;
  op: 'upsert' | 'delete';
  fields?: Record<string, unknown>;
  stamps: Record<string, string>;
  base?: Record<string, string | null>;
  clientTime: string;
  author?: string;
  origin?: string;
};

export const pushRequestSchema = z.object({
  clientId: z.string().min(1).max(100),
  /** Each element is validated on its own so one bad change is `rejected`, not a 400. */
  changes: z.array(z.unknown()).min(1).max(MAX_PUSH_CHANGES),
});

export const pullRequestSchema = z.object({
  clientId: z.string().min(1).max(100),
  cursor: z.string().max(500).nullable(),
  limit: z.number().int().min(1).max(MAX_PULL_LIMIT).optional(),
});

export type ResultStatus = 'applied' | 'merged' | 'conflict' | 'duplicate' | 'rejected';

export interface ApiErrorBody {
  code: string;
  message: string;
}

export interface ChangeResult {
  changeId: string;
  status: ResultStatus;
  version?: number;
  conflictIds?: string[];
  clamped?: true;
  /** Extension: the stamps as stored, when they differ from those sent (clamped): the writer keeps these. */
  stamps?: Record<string, string>;
  /** Extension: server-set fields (createdBy, createdAt) the change carried; the server's values were kept. */
  ignoredFields?: string[];
  error?: ApiErrorBody;
}

export interface SyncRecord {
  entityType: EntityType;
  entityId: string;
  fields: Record<string, unknown>;
  stamps: Record<string, string>;
  version: number;
  deletedAt: string | null;
  updatedAt: string;
}

export interface PushResponse {
  results: ChangeResult[];
  serverTime: string;
}

export interface PullResponse {
  records: SyncRecord[];
  cursor: string;
  hasMore: boolean;
  serverTime: string;
}

/** One accepted change to a record, as `GET /api/records/:type/:id/history` lists them (oldest first). */
export interface HistoryEntry {
  changeId: string;
  op: 'upsert' | 'delete';
  fields: Record<string, unknown> | null;
  author: string | null;
  authorName: string | null;
  origin: string | null;
  clientTime: string | null;
  receivedAt: string;
  status: string;
  version: number | null;
}

export interface PublicUser {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  communityId: string;
}

export interface ConflictView {
  id: string;
  entityType: string;
  entityId: string;
  field: string;
  status: 'open' | 'resolved';
  values: ConflictValue[];
  resolvedBy?: string | null;
  resolvedAt?: string | null;
  resolution?: ConflictResolution | null;
}

export function isEntityType(value: string): value is EntityType {
  return (ENTITY_TYPES as readonly string[]).includes(value);
}

const ROLE_RANK: Record<Role, number> = { volunteer: 0, coordinator: 1, admin: 2 };

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[minimum];
}
