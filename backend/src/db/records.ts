/** Storage of synced records: current state per entity, in pull order. */
import type { EntityType, RecordState } from '@lifeline/core';
import type { Database, Queryable } from './database';
import { packMeta, unpackMeta, unpackMetaSql } from './field-meta-codec';

export interface EntityKey {
  entityType: string;
  entityId: string;
}

export interface StoredRecord extends RecordState {
  updatedAt: string;
}

export interface PullPosition {
  txId: string;
  seq: number;
}

export interface RecordRow {
  entity_type: string;
  entity_id: string;
  fields: Record<string, unknown>;
  stamps: Record<string, string>;
  meta: unknown;
  deleted_at: string | null;
  version: number;
  updated_at: string;
}

/** The columns `toRecord` reads, qualified by `alias` when the query joins another table. */
export function recordColumns(alias?: string): string {
  const names = ['entity_type', 'entity_id', 'fields', 'stamps', 'meta', 'deleted_at', 'version', 'updated_at'];
  return names
    .map((name) => {
      const column = alias ? `${alias}.${name}` : name;
      return name === 'entity_id' ? `${column}::text AS entity_id` : column;
    })
    .join(', ');
}

const COLUMNS = recordColumns();

export function toRecord(row: RecordRow): StoredRecord {
  return {
    entityType: row.entity_type as EntityType,
    entityId: row.entity_id,
    fields: row.fields,
    stamps: row.stamps,
    meta: unpackMeta(row.meta),
    deletedAt: row.deleted_at,
    version: row.version,
    updatedAt: row.updated_at,
  };
}

export const keyOf = (key: EntityKey): string => `${key.entityType}/${key.entityId}`;

/**
 * Serialise writers of the same entities for the rest of the transaction,
 * including entities that do not exist yet (row locks cannot cover those).
 * Locks are taken in one sorted order so two batches cannot deadlock.
 */
export async function lockEntities(tx: Queryable, communityId: string, keys: EntityKey[]): Promise<void> {
  if (keys.length === 0) return;
  const names = [...new Set(keys.map((key) => `${communityId}/${keyOf(key)}`))];
  await tx.query(
    `SELECT pg_advisory_xact_lock(k) FROM (
       SELECT DISTINCT hashtextextended(name, 0) AS k FROM unnest($1::text[]) AS name ORDER BY 1
     ) AS ordered`,
    [names],
  );
}

export async function loadRecords(
  tx: Queryable,
  communityId: string,
  keys: EntityKey[],
): Promise<Map<string, StoredRecord>> {
  const found = new Map<string, StoredRecord>();
  if (keys.length === 0) return found;
  const { rows } = await tx.query<RecordRow>(
    `SELECT ${COLUMNS} FROM records
      WHERE community_id = $1
        AND (entity_type, entity_id) IN (SELECT t, i FROM unnest($2::text[], $3::uuid[]) AS k(t, i))`,
    [communityId, keys.map((key) => key.entityType), keys.map((key) => key.entityId)],
  );
  for (const row of rows) {
    const record = toRecord(row);
    found.set(keyOf(record), record);
  }
  return found;
}

export async function getRecord(
  db: Queryable,
  communityId: string,
  entityType: string,
  entityId: string,
): Promise<StoredRecord | null> {
  const { rows } = await db.query<RecordRow>(
    `SELECT ${COLUMNS} FROM records WHERE community_id = $1 AND entity_type = $2 AND entity_id = $3`,
    [communityId, entityType, entityId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** One statement for the whole batch: set-based, not a query per record. */
export async function saveRecords(tx: Queryable, communityId: string, records: RecordState[]): Promise<void> {
  if (records.length === 0) return;
  const payload = records.map((record) => ({
    entity_type: record.entityType,
    entity_id: record.entityId,
    fields: record.fields,
    stamps: record.stamps,
    meta: packMeta(record.meta),
    deleted_at: record.deletedAt,
    version: record.version,
  }));
  await tx.query(
    `INSERT INTO records (community_id, entity_type, entity_id, fields, stamps, meta, deleted_at, version)
     SELECT $1, r.entity_type, r.entity_id, r.fields, r.stamps, r.meta, r.deleted_at, r.version
       FROM jsonb_to_recordset($2::jsonb)
         AS r(entity_type text, entity_id uuid, fields jsonb, stamps jsonb, meta jsonb, deleted_at timestamptz, version integer)
     ON CONFLICT (community_id, entity_type, entity_id) DO UPDATE SET
       fields = EXCLUDED.fields, stamps = EXCLUDED.stamps, meta = EXCLUDED.meta,
       deleted_at = EXCLUDED.deleted_at, version = EXCLUDED.version, updated_at = now(),
       tx_id = pg_current_xact_id(), seq = nextval('records_seq')`,
    [communityId, JSON.stringify(payload)],
  );
}

/**
 * One page of the pull order after ($2, $3), for community $1, at most $4 rows.
 * Only rows written by transactions older than every transaction still in
 * flight are visible (pg_snapshot_xmin), so one that commits late is never
 * jumped over. Sorted by the qualified columns: the select lists name the
 * text form `pull_tx_id`, never `tx_id`, since a bare name in ORDER BY means
 * the output column, and '10000' < '9999' as text would skip rows forever.
 */
const PULL_PAGE = `FROM records r
      WHERE r.community_id = $1
        AND (r.tx_id, r.seq) > ($2::xid8, $3::bigint)
        AND r.tx_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY r.tx_id, r.seq
      LIMIT $4`;

/** An ISO 8601 time in UTC to the millisecond, as `Date#toISOString` writes it (both truncate). */
const isoTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export interface PulledWireRow {
  /** The record as the contract shows it, already JSON: Postgres writes it, nothing here parses it. */
  json: string;
  position: PullPosition;
}

/**
 * `pullAfter` for members, with each record built as its wire JSON by
 * Postgres: a page of 1,000 records is ~1 MB of JSON that Node would
 * otherwise parse from the row and serialise again for the answer.
 * `hiddenFields` are left out of fields and stamps (hub-only secrets).
 *
 * Written by concatenation rather than json_build_object, and the hidden
 * fields removed only from the rows that hold one (`?|` reads keys, `-`
 * copies the whole value): together a third less Postgres time per page.
 */
export async function pullWireAfter(
  db: Queryable,
  communityId: string,
  after: PullPosition,
  limit: number,
  hiddenFields: string[],
): Promise<PulledWireRow[]> {
  const shown = (column: string) =>
    `(CASE WHEN ${column} ?| $5::text[] THEN ${column} - $5::text[] ELSE ${column} END)::text`;
  const { rows } = await db.query<{ wire: string; pull_tx_id: string; pull_seq: number }>(
    `SELECT '{"entityType":' || to_json(r.entity_type)::text
            || ',"entityId":"' || r.entity_id::text
            || '","fields":' || ${shown('r.fields')}
            || ',"stamps":' || ${shown('r.stamps')}
            || ',"version":' || r.version::text
            || ',"deletedAt":' || COALESCE('"' || ${isoTime('r.deleted_at')} || '"', 'null')
            || ',"updatedAt":"' || ${isoTime('r.updated_at')} || '"}' AS wire,
            r.tx_id::text AS pull_tx_id, r.seq AS pull_seq
       ${PULL_PAGE}`,
    [communityId, after.txId, after.seq, limit, hiddenFields],
  );
  return rows.map((row) => ({ json: row.wire, position: { txId: row.pull_tx_id, seq: row.pull_seq } }));
}

/**
 * `pullWireAfter` for hubs: every field, password hashes included, and the
 * per-field authorship (`meta`, unpacked) that hubs merge by. During a hub's
 * catch-up these pages are tens of thousands of records.
 */
export async function pullHubWireAfter(
  db: Queryable,
  communityId: string,
  after: PullPosition,
  limit: number,
): Promise<PulledWireRow[]> {
  const { rows } = await db.query<{ wire: string; pull_tx_id: string; pull_seq: number }>(
    `SELECT json_build_object(
              'entityType', r.entity_type, 'entityId', r.entity_id, 'fields', r.fields, 'stamps', r.stamps,
              'version', r.version, 'deletedAt', ${isoTime('r.deleted_at')}, 'updatedAt', ${isoTime('r.updated_at')},
              'meta', ${unpackMetaSql('r.meta')}
            )::text AS wire,
            r.tx_id::text AS pull_tx_id, r.seq AS pull_seq
       ${PULL_PAGE}`,
    [communityId, after.txId, after.seq, limit],
  );
  return rows.map((row) => ({ json: row.wire, position: { txId: row.pull_tx_id, seq: row.pull_seq } }));
}

/** Every record of a community, in batches, for the NDJSON export (never all in memory). */
export async function* exportRecords(
  db: Database,
  communityId: string,
  batchSize = 1000,
): AsyncGenerator<StoredRecord> {
  let afterType = '';
  let afterId = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.transaction(
      (tx) =>
        tx.query<RecordRow>(
          // Qualified: the bare entity_id would be COLUMNS' text output column, not the indexed uuid.
          `SELECT ${COLUMNS} FROM records r
        WHERE r.community_id = $1 AND (r.entity_type, r.entity_id) > ($2, $3::uuid)
        ORDER BY r.entity_type, r.entity_id LIMIT $4`,
          [communityId, afterType, afterId, batchSize],
        ),
      { orderedScans: true },
    );
    for (const row of rows) yield toRecord(row);
    const last = rows[rows.length - 1];
    if (!last || rows.length < batchSize) return;
    afterType = last.entity_type;
    afterId = last.entity_id;
  }
}

export async function listRecordsOfType(
  db: Queryable,
  communityId: string,
  entityType: EntityType,
  where: { openConflictsOnly?: boolean } = {},
): Promise<StoredRecord[]> {
  const { rows } = await db.query<RecordRow>(
    `SELECT ${COLUMNS} FROM records
      WHERE community_id = $1 AND entity_type = $2 AND deleted_at IS NULL
        AND ($3::boolean IS NOT TRUE OR fields ->> 'status' = 'open')
      ORDER BY updated_at DESC LIMIT 1000`,
    [communityId, entityType, where.openConflictsOnly ?? false],
  );
  return rows.map(toRecord);
}

/**
 * Whether any record lies past `after` that the last read did not return:
 * one still behind the visibility horizon (an older transaction in flight),
 * or one that became visible since. Either way the puller should look again
 * rather than report itself caught up. (A separate statement sees a newer
 * snapshot, so this deliberately ignores the horizon.)
 */
export async function hasRecordsAfter(db: Queryable, communityId: string, after: PullPosition): Promise<boolean> {
  const { rows } = await db.query<{ pending: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM records WHERE community_id = $1 AND (tx_id, seq) > ($2::xid8, $3::bigint)
     ) AS pending`,
    [communityId, after.txId, after.seq],
  );
  return rows[0]?.pending ?? false;
}

/** Open conflicts of one community, or of every community (monitoring) when none is named. */
export async function countOpenConflicts(db: Queryable, communityId: string | null): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM records
      WHERE ($1::uuid IS NULL OR community_id = $1)
        AND entity_type = 'conflict' AND fields ->> 'status' = 'open' AND deleted_at IS NULL`,
    [communityId],
  );
  return rows[0]?.count ?? 0;
}
