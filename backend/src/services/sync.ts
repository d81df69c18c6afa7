/** Push, pull, status and export: the sync contract over the record store. */
import {
  DEFAULT_PULL_LIMIT,
  validateChange,
  type ChangeResult,
  type PullResponse,
  type PushResponse,
  type RecordState,
  type SyncRecord,
} from '@lifeline/core';
import type { ServerContext } from '../context';
import { findCommunity } from '../db/communities';
import {
  countOpenConflicts,
  exportRecords,
  hasRecordsAfter,
  pullHubWireAfter,
  pullWireAfter,
  type PullPosition,
  type StoredRecord,
} from '../db/records';
import { formerServerIds } from '../db/storage-identity';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { badRequest, conflict } from '../errors';
import { authorId, type Principal } from '../principal';
import { applyChanges, type ChangeToApply } from './apply-changes';
import { noteWrite, readDatabase } from './reads';

const HELD_BACK_POLL_MS = 20;
const HELD_BACK_WAIT_MS = 1000;

/** Fields only hubs receive (so members can sign in at the hub during an outage). */
const HUB_ONLY_FIELDS = new Set(['passwordHash']);

export async function push(
  ctx: ServerContext,
  principal: Principal,
  clientId: string,
  rawChanges: unknown[],
): Promise<PushResponse> {
  const results: ChangeResult[] = new Array<ChangeResult>(rawChanges.length);
  const valid: ChangeToApply[] = [];
  const ignored = new Map<number, string[]>();
  const writer =
    principal.kind === 'hub' ? ({ kind: 'hub' } as const) : ({ kind: 'user', role: principal.role } as const);
  rawChanges.forEach((raw, index) => {
    const validation = validateChange(raw, writer);
    if (validation.ok) {
      valid.push({ change: validation.change, index });
      if (validation.ignoredFields.length > 0) ignored.set(index, validation.ignoredFields);
    } else {
      results[index] = { changeId: validation.changeId ?? '', status: 'rejected', error: validation.error };
    }
  });

  if (valid.length > 0) {
    const outcome = await ctx.db.transaction((tx) =>
      applyChanges(ctx, tx, valid, {
        communityId: principal.communityId,
        author: authorId(principal),
        origin: principal.kind === 'hub' ? `hub:${principal.deviceId}` : ctx.serverId,
        clientId,
      }),
    );
    for (const { index, result } of outcome.results) {
      const ignoredFields = ignored.get(index);
      results[index] = ignoredFields && result.status !== 'rejected' ? { ...result, ignoredFields } : result;
    }
    if (outcome.results.some(({ result }) => result.status !== 'rejected' && result.status !== 'duplicate')) {
      ctx.upstream?.kick();
    }
    noteWrite(ctx, principal);
    if (outcome.conflictsCreated > 0) ctx.metrics.conflicts.inc({ event: 'detected' }, outcome.conflictsCreated);
  }
  for (const result of results) {
    ctx.metrics.pushedChanges.inc({ status: result.status });
    if (result.clamped) ctx.metrics.clampedStamps.inc();
  }
  ctx.metrics.syncRequests.inc({ kind: 'push' });
  ctx.syncActivity?.();
  return { results, serverTime: new Date().toISOString() };
}

/** A pull answer whose records are already JSON text (see `pullWireAfter`); `pullAnswerJson` writes it out. */
export interface PullPage extends Omit<PullResponse, 'records'> {
  records: string[];
}

export async function pull(
  ctx: ServerContext,
  principal: Principal,
  cursor: string | null,
  limit = DEFAULT_PULL_LIMIT,
): Promise<PullPage> {
  const decoded = decodeCursor(cursor, ctx.serverId);
  if (!decoded.ok) {
    if (decoded.reason === 'other_server') {
      // This database under an id it had before a restore or move: the client may hold writes we lost.
      const restored = (await formerServerIds(ctx.db)).includes(decoded.serverId);
      throw conflict(
        'cursor_mismatch',
        restored
          ? 'this server was restored or moved since this cursor: pull again from a null cursor, and offer again what you hold'
          : 'this cursor came from another server: pull again from a null cursor',
        restored ? { restored: true } : undefined,
      );
    }
    throw badRequest('invalid_cursor', 'cursor is not one this server issued');
  }
  // One server for the whole answer: its snapshot decides what the page may hold.
  const db = readDatabase(ctx, principal);
  const read = (after: PullPosition) =>
    db.transaction(
      async (tx) =>
        principal.kind === 'hub'
          ? // Hubs also get per-field authorship, decoded from its packed storage form.
            pullHubWireAfter(tx, principal.communityId, after, limit + 1)
          : pullWireAfter(tx, principal.communityId, after, limit + 1, [...HUB_ONLY_FIELDS]),
      { orderedScans: true },
    );
  let rows = await read(decoded.position);
  let heldBack = false;
  // Committed records can sit behind an older transaction still in flight for a
  // moment (or have become visible since the read): look again, briefly, rather
  // than tell the client it is caught up.
  for (let waited = 0; rows.length <= limit;) {
    const after = rows[rows.length - 1]?.position ?? decoded.position;
    heldBack = await hasRecordsAfter(db, principal.communityId, after);
    if (!heldBack || waited >= HELD_BACK_WAIT_MS) break;
    if (waited > 0) await new Promise((resolve) => setTimeout(resolve, HELD_BACK_POLL_MS));
    waited += HELD_BACK_POLL_MS;
    rows = await read(decoded.position);
  }
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  ctx.metrics.pulledRecords.inc(page.length);
  ctx.metrics.syncRequests.inc({ kind: 'pull' });
  ctx.syncActivity?.();
  return {
    records: page.map((row) => row.json),
    cursor: encodeCursor(ctx.serverId, last ? last.position : decoded.position),
    hasMore: rows.length > limit || heldBack,
    serverTime: new Date().toISOString(),
  };
}

/** The pull answer's JSON, records spliced in as they are. */
export function pullAnswerJson(page: PullPage): string {
  const rest = JSON.stringify({ cursor: page.cursor, hasMore: page.hasMore, serverTime: page.serverTime });
  return `{"records":[${page.records.join(',')}],${rest.slice(1)}`;
}

export async function status(ctx: ServerContext, principal: Principal) {
  const community = await findCommunity(ctx.db, principal.communityId);
  return {
    serverId: ctx.serverId,
    mode: ctx.config.mode,
    pendingConflicts: await countOpenConflicts(ctx.db, principal.communityId),
    // Extension: a hub learns its community (id and name) from here.
    communityId: community ? principal.communityId : null,
    communityName: community?.name ?? null,
    ...(ctx.upstream ? { upstream: await ctx.upstream.status() } : {}),
  };
}

/** NDJSON lines of every record of the community, produced in batches. */
export async function* exportLines(ctx: ServerContext, principal: Principal): AsyncGenerator<string> {
  for await (const record of exportRecords(readDatabase(ctx, principal), principal.communityId)) {
    yield `${JSON.stringify(toWire(record, principal))}\n`;
  }
}

/**
 * A record as the contract shows it. Hubs also get per-field authorship
 * (`meta`, an extension) and password hashes; members never do.
 */
export function toWire(
  record: StoredRecord | (RecordState & { updatedAt?: string }),
  principal: Principal,
): SyncRecord {
  const isHub = principal.kind === 'hub';
  const fields = isHub ? record.fields : withoutHubOnly(record.fields);
  const stamps = isHub ? record.stamps : (withoutHubOnly(record.stamps) as Record<string, string>);
  const wire: SyncRecord & { meta?: RecordState['meta'] } = {
    entityType: record.entityType,
    entityId: record.entityId,
    fields,
    stamps,
    version: record.version,
    deletedAt: record.deletedAt,
    updatedAt: record.updatedAt ?? new Date().toISOString(),
  };
  if (isHub) wire.meta = record.meta;
  return wire;
}

function withoutHubOnly(values: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(values).some((key) => HUB_ONLY_FIELDS.has(key))) return values;
  return Object.fromEntries(Object.entries(values).filter(([key]) => !HUB_ONLY_FIELDS.has(key)));
}
