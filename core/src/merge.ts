/**
 * Per-field last-writer-wins merge with concurrent-edit detection.
 *
 * Pure: no I/O, no clock reads (the caller passes the server time). The same
 * function runs on every replica, so any delivery order converges: each field
 * keeps the value with the highest stamp, and a write that loses to a write it
 * did not see is kept in a conflict draft instead of being dropped.
 */
import { cloneJson } from './clone-json';
import { v5 as uuidv5 } from 'uuid';
import {
  DELETED_AT,
  DEFAULT_FIELDS,
  REQUIRED_ON_CREATE,
  type Change,
  type ConflictValue,
  type EntityType,
} from './contract';
import { compareStamps, formatStamp, maxStamp, parseStamp, type Stamp } from './hlc';

/** Who wrote a field value, kept beside the value so a later conflict can name both sides. */
export interface FieldMeta {
  changeId: string | null;
  author: string | null;
  origin: string | null;
  clientTime: string | null;
  /** The stamp the writer saw for this field (null: saw none). */
  base: Stamp | null;
  /** Set for values the server filled in as defaults: overwriting them is never a conflict. */
  isDefault?: true;
  /**
   * Other stamps this same write has carried: the one its writer sent before
   * a server clamped it, the one it had before a sticky value was lifted. A
   * later write whose base names one of them saw this value.
   */
  formerStamps?: Stamp[];
  /** On the deletedAt field: what the deleter saw of each field, when it said so. */
  seen?: Record<string, Stamp | null>;
}

export interface RecordState {
  entityType: EntityType;
  entityId: string;
  fields: Record<string, unknown>;
  stamps: Record<string, Stamp>;
  meta: Record<string, FieldMeta>;
  deletedAt: string | null;
  version: number;
}

export interface ConflictDraft {
  id: string;
  entityType: EntityType;
  entityId: string;
  field: string;
  values: ConflictValue[];
}

export interface MergeContext {
  /** User id of the writer (the server sets createdBy from it). */
  author: string;
  /** Replica where the change was accepted first. */
  origin: string;
  /** The merging server's wall clock, for clamping future stamps. */
  nowMs: number;
  /** Set by servers; browsers overlaying their own outbox skip clamping. */
  clampFutureStamps: boolean;
  /**
   * The stamp a clamped write gets: the server's own clock, so every clamped
   * write is unique (writes from one fast device in one batch must not all
   * become the same stamp), and above `seen`, the newest stamp the write saw
   * (another device's clock may run a little ahead of this server's: a write
   * clamped below what it saw would lose to it). Without it, the clamp keeps
   * the writer's counter and node id (pure tests).
   */
  clampedStamp?: (seen: Stamp | null) => Stamp;
}

export type MergeOutcome =
  | {
      ok: true;
      record: RecordState;
      status: 'applied' | 'merged' | 'conflict';
      conflicts: ConflictDraft[];
      clamped: boolean;
      /** Fields whose value changed (excluding server-filled defaults). */
      appliedFields: string[];
      /** The change's stamps as this replica took them: clamped, or lifted where a sticky value won. */
      acceptedStamps: Record<string, Stamp>;
      /** Its base with former stamps rewritten to the stamps they became (what a hub forwards). */
      acceptedBase: Record<string, Stamp | null> | undefined;
    }
  | { ok: false; code: string; message: string };

export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Values that win a concurrent write whatever the stamps say: disabling an
 * account beats a concurrent change to it (an admin at the hub and one at the
 * cloud must not re-enable someone by racing). A write that saw the disable
 * still overrides it as usual.
 */
const STICKY_VALUES: Partial<Record<EntityType, Record<string, unknown>>> = { user: { disabled: true } };

/**
 * Node id of stamps the merge itself makes (a sticky value lifted above the
 * write it beat). No replica's clock uses it, so it can never equal a real
 * write's stamp; every replica derives the same one from the same two stamps.
 */
export const MERGE_NODE_ID = 'zz-merge';

/** The smallest stamp above `stamp` that no clock issues, the same on every replica. */
export function liftedStamp(stamp: Stamp): Stamp {
  const parsed = parseStamp(stamp)!;
  const counter = parsed.counter + 1;
  return counter > 99_999
    ? formatStamp({ ms: parsed.ms + 1, counter: 0, nodeId: MERGE_NODE_ID })
    : formatStamp({ ms: parsed.ms, counter, nodeId: MERGE_NODE_ID });
}
const CONFLICT_NAMESPACE = '6f0b8a2e-3c1d-4e5f-9a7b-2c4d6e8f0a1b';

/** Same conflict found on two replicas gets one id: derived from both change ids and the field. */
export function conflictIdFor(changeIdA: string, changeIdB: string, entityId: string, field: string): string {
  const [first, second] = [changeIdA, changeIdB].sort();
  return uuidv5(`${first}|${second}|${entityId}|${field}`, CONFLICT_NAMESPACE);
}

/** Deterministic ISO time from a stamp, so every replica derives the same createdAt/deletedAt. */
export function stampTime(stamp: Stamp): string {
  const parsed = parseStamp(stamp);
  return new Date(parsed ? parsed.ms : 0).toISOString();
}

/** The millisecond part of a well-formed stamp (its first 15 digits), without a regular expression: merge reads it per field. */
function stampMs(stamp: Stamp): number {
  return Number(stamp.slice(0, 15));
}

export function clampStamp(stamp: Stamp, nowMs: number): { stamp: Stamp; clamped: boolean } {
  // Most stamps are not ahead: answer those without parsing the stamp.
  const ms = stampMs(stamp);
  if (Number.isFinite(ms) && ms <= nowMs + MAX_CLOCK_SKEW_MS) return { stamp, clamped: false };
  const parsed = parseStamp(stamp);
  if (!parsed || parsed.ms <= nowMs + MAX_CLOCK_SKEW_MS) return { stamp, clamped: false };
  return { stamp: formatStamp({ ...parsed, ms: nowMs }), clamped: true };
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((key) => left[key] !== undefined);
  const otherKeys = Object.keys(right).filter((key) => right[key] !== undefined);
  return keys.length === otherKeys.length && keys.every((key) => deepEqual(left[key], right[key]));
}

export function emptyRecord(entityType: EntityType, entityId: string): RecordState {
  return { entityType, entityId, fields: {}, stamps: {}, meta: {}, deletedAt: null, version: 0 };
}

interface FieldWrite {
  field: string;
  value: unknown;
  stamp: Stamp;
  base: Stamp | null;
  /** Stamps the write carried before this merge changed it (clamped, lifted). */
  formerStamps: Stamp[];
}

/**
 * Which of two writes to a field wins: the higher stamp; two different writes
 * that carry the same stamp are ordered by change id, so every replica still
 * picks the same one. The lower id wins: ids are time-ordered, and the usual
 * tie is two creates of one record filling its defaults under one stamp (a
 * device re-offered it to a restored server, and the original arrived too),
 * where the first made is the record's real creation. A write whose id is
 * not known loses.
 */
function outranks(
  stamp: Stamp,
  changeId: string | null | undefined,
  other: Stamp,
  otherChangeId: string | null | undefined,
) {
  const byStamp = compareStamps(stamp, other);
  if (byStamp !== 0) return byStamp > 0;
  if (!changeId) return false;
  if (!otherChangeId) return true;
  return changeId < otherChangeId;
}

/** Whether a value is the one a writer saw: its stamp now, or one it carried before. */
function isStampOf(stamp: Stamp | null | undefined, value: { stamp: Stamp; meta?: FieldMeta }): boolean {
  if (stamp === null || stamp === undefined) return false;
  return stamp === value.stamp || (value.meta?.formerStamps?.includes(stamp) ?? false);
}

/** A base that names a value by a former stamp is rewritten to its stamp now, so every replica reads it alike. */
function normalizeBase(record: RecordState | null, field: string, base: Stamp | null): Stamp | null {
  const currentStamp = record?.stamps[field];
  if (base === null || currentStamp === undefined) return base;
  return isStampOf(base, { stamp: currentStamp, meta: record!.meta[field] }) ? currentStamp : base;
}

/**
 * Merge one validated change into a record (null when the record does not exist here yet).
 * The change's stamps are clamped when more than 5 minutes ahead of `ctx.nowMs`.
 */
export function mergeChange(current: RecordState | null, change: Change, ctx: MergeContext): MergeOutcome {
  const entityType = change.entityType as EntityType;
  const isNew = current === null || Object.keys(current.stamps).length === 0;
  const record: RecordState = current ? cloneJson(current) : emptyRecord(entityType, change.entityId);

  let clamped = false;
  const writes: FieldWrite[] = [];
  const source =
    change.op === 'delete' ? { [DELETED_AT]: stampTime(change.stamps[DELETED_AT]!) } : (change.fields ?? {});
  // One clamped stamp per stamp sent: the fields of one change keep sharing one stamp.
  const clampedOnce = new Map<Stamp, Stamp>();
  // What the write saw, as stored here (a device's own raw future stamp is never folded into a clock).
  const newestBase = Object.entries(change.base ?? {})
    .map(([field, base]) => normalizeBase(current, field, base ?? null))
    .filter((base): base is Stamp => base !== null && !clampStamp(base, ctx.nowMs).clamped)
    .reduce<Stamp | null>((a, b) => maxStamp(a, b), null);
  // The fields of a change usually share one stamp: remember the last answer instead of re-reading it per field.
  let lastClamp: { raw: Stamp; result: { stamp: Stamp; clamped: boolean } } | undefined;
  const clamp = (raw: Stamp): { stamp: Stamp; clamped: boolean } => {
    if (lastClamp?.raw === raw) return lastClamp.result;
    const result = clampOnce(raw);
    lastClamp = { raw, result };
    return result;
  };
  const clampOnce = (raw: Stamp): { stamp: Stamp; clamped: boolean } => {
    if (!ctx.clampFutureStamps) return { stamp: raw, clamped: false };
    const result = clampStamp(raw, ctx.nowMs);
    if (!result.clamped || !ctx.clampedStamp) return result;
    if (!clampedOnce.has(raw)) clampedOnce.set(raw, ctx.clampedStamp(newestBase));
    return { stamp: clampedOnce.get(raw)!, clamped: true };
  };
  // A write comes after what it saw, yet its stamp can sit below it: a device whose clock is behind saw the
  // value under another server's (lower) stamp for it. Stamped above, as a clamped write is, or it would
  // silently lose to the very value it replaces.
  const restamp = (raw: Stamp): Stamp => {
    if (!clampedOnce.has(raw)) {
      clampedOnce.set(raw, ctx.clampedStamp ? ctx.clampedStamp(newestBase) : liftedStamp(newestBase ?? raw));
    }
    return clampedOnce.get(raw)!;
  };
  for (const [field, value] of Object.entries(source)) {
    const rawStamp = change.stamps[field]!;
    const base = normalizeBase(current, field, change.base?.[field] ?? null);
    const result = clamp(rawStamp);
    clamped ||= result.clamped;
    // Only when it saw the value held here: a base naming a stamp this replica never knew (a device's raw
    // future stamp, clamped elsewhere) proves nothing about order here.
    const currentStamp = current?.stamps[field];
    const behindBase =
      !result.clamped && base !== null && base === currentStamp && compareStamps(result.stamp, base) <= 0;
    const stamp = behindBase ? restamp(rawStamp) : result.stamp;
    const written = field === DELETED_AT && value !== null && change.op === 'delete' ? stampTime(stamp) : value;
    writes.push({
      field,
      value: written,
      stamp,
      base,
      formerStamps: result.clamped || behindBase ? [rawStamp] : [],
    });
  }
  const seen =
    change.op === 'delete' && change.base
      ? Object.fromEntries(
          Object.entries(change.base).map(([field, base]) => [field, normalizeBase(current, field, base ?? null)]),
        )
      : undefined;

  // A create writes the required fields having seen nothing. An edit can reach a server before the
  // create does (its writer saw the record at another server): it is kept, and the record stays
  // incomplete until the create arrives and fills in the defaults.
  const required = REQUIRED_ON_CREATE[entityType];
  const sawNothing = writes.every((write) => write.base === null);
  const isCreate =
    change.op === 'upsert' &&
    sawNothing &&
    (isNew || required.some((field) => record.stamps[field] === undefined)) &&
    required.every((field) => field in source);
  if (isNew && change.op === 'upsert' && sawNothing && !isCreate) {
    const missing = required.filter((field) => !(field in source));
    return {
      ok: false,
      code: 'missing_required_fields',
      message: `a new ${entityType} needs ${missing.join(', ')}`,
    };
  }

  const writerMeta = (base: Stamp | null, formerStamps: Stamp[] = []): FieldMeta => ({
    changeId: change.changeId,
    author: change.author ?? ctx.author,
    origin: change.origin ?? ctx.origin,
    clientTime: change.clientTime,
    base,
    ...(formerStamps.length > 0 ? { formerStamps } : {}),
  });

  const conflicts: ConflictDraft[] = [];
  const appliedFields: string[] = [];
  let lostFields = 0;

  for (const write of writes) {
    const meta = writerMeta(write.base, write.formerStamps);
    if (write.field === DELETED_AT && seen) meta.seen = seen;
    const currentStamp = record.stamps[write.field];
    const currentMeta = record.meta[write.field];
    const currentValue = write.field === DELETED_AT ? record.deletedAt : record.fields[write.field];

    if (currentStamp === write.stamp && (currentMeta?.changeId ?? change.changeId) === change.changeId) {
      lostFields += 1; // the very same write reached us by another path
      continue;
    }
    // Conflict records are written by servers only: per-field last writer wins, never a conflict about a conflict.
    const concurrent =
      entityType !== 'conflict' &&
      currentStamp !== undefined &&
      currentMeta !== undefined &&
      isConcurrent(write, currentStamp, currentMeta, currentValue);
    if (concurrent) {
      conflicts.push(
        draftConflict(record, write.field, [
          { value: currentValue ?? null, stamp: currentStamp, meta: currentMeta },
          { value: write.value, stamp: write.stamp, meta },
        ]),
      );
      const sticky = stickyOutcome(entityType, write, currentStamp, currentValue);
      if (sticky) {
        if (sticky.winner === 'write') {
          if (sticky.stamp !== write.stamp) meta.formerStamps = [...(meta.formerStamps ?? []), write.stamp];
          setField(record, write.field, write.value, sticky.stamp, meta);
          write.stamp = sticky.stamp;
          appliedFields.push(write.field);
        } else {
          if (sticky.stamp !== currentStamp) {
            record.meta[write.field] = {
              ...currentMeta!,
              formerStamps: [...(currentMeta!.formerStamps ?? []), currentStamp!],
            };
          }
          record.stamps[write.field] = sticky.stamp;
          lostFields += 1;
        }
        continue;
      }
    }
    if (currentStamp === undefined || outranks(write.stamp, change.changeId, currentStamp, currentMeta?.changeId)) {
      setField(record, write.field, write.value, write.stamp, meta);
      appliedFields.push(write.field);
    } else {
      lostFields += 1;
    }
  }

  conflicts.push(...deleteConflicts(current, record, change, writes, seen, writerMeta));

  // Another create of a record held already (a device re-offered it to a restored server, and then the
  // original arrived too): its defaults contend with the first create's, by stamp and change id as
  // record states merge, so every replica names the same creator whichever create it saw first.
  const isAnotherCreate =
    !isCreate && !isNew && change.op === 'upsert' && sawNothing && required.every((field) => field in source);
  if (isCreate || isAnotherCreate) fillDefaults(record, entityType, writes, ctx, writerMeta, isAnotherCreate);

  record.version += 1;
  const conflictFieldNames = new Set(conflicts.map((c) => c.field));
  const cleanApplied = appliedFields.filter((field) => !conflictFieldNames.has(field));
  // A delete-vs-edit conflict involves every field of the change, so it is never just "merged".
  const status =
    conflicts.length > 0
      ? cleanApplied.length > 0 && !conflictFieldNames.has(DELETED_AT)
        ? 'merged'
        : 'conflict'
      : lostFields > 0
        ? 'merged'
        : 'applied';
  return {
    ok: true,
    record,
    status,
    conflicts: dedupe(conflicts),
    clamped,
    appliedFields,
    acceptedStamps: Object.fromEntries(writes.map((write) => [write.field, write.stamp])),
    acceptedBase:
      seen ??
      (change.base
        ? { ...change.base, ...Object.fromEntries(writes.map((write) => [write.field, write.base])) }
        : undefined),
  };
}

/**
 * For a concurrent write to a sticky field where one side holds the sticky
 * value: that side wins, stored with a stamp above both (so replicas that
 * merge states by "higher stamp wins" keep it too). Null when the rule does
 * not apply and the stamps decide.
 */
function stickyOutcome(
  entityType: EntityType,
  write: FieldWrite,
  currentStamp: Stamp,
  currentValue: unknown,
): { winner: 'write' | 'current'; stamp: Stamp } | null {
  const rules = STICKY_VALUES[entityType];
  if (!rules || !Object.hasOwn(rules, write.field)) return null;
  const stickyValue = rules[write.field];
  const writeSticky = deepEqual(write.value, stickyValue);
  if (writeSticky === deepEqual(currentValue, stickyValue)) return null;
  const [winnerStamp, loserStamp] = writeSticky ? [write.stamp, currentStamp] : [currentStamp, write.stamp];
  return {
    winner: writeSticky ? 'write' : 'current',
    stamp: compareStamps(winnerStamp, loserStamp) > 0 ? winnerStamp : liftedStamp(loserStamp),
  };
}

/**
 * Did neither writer see the other's value? A base names exactly the value
 * its writer saw. A base that is merely newer proves nothing: the writer saw
 * some later value, which may itself never have seen this one (a hub's write
 * arriving after two edits in sequence at the cloud). So only exact
 * knowledge counts as seen; anything else with a different value is kept as
 * a conflict, never dropped.
 */
function isConcurrent(write: FieldWrite, currentStamp: Stamp, currentMeta: FieldMeta, currentValue: unknown): boolean {
  if (currentMeta.isDefault) return false;
  const incomingSawCurrent = isStampOf(write.base, { stamp: currentStamp, meta: currentMeta });
  const currentSawIncoming =
    currentMeta.base !== null && (currentMeta.base === write.stamp || write.formerStamps.includes(currentMeta.base));
  if (incomingSawCurrent || currentSawIncoming) return false;
  if (write.field === DELETED_AT)
    return (write.value === null) !== (currentValue === null || currentValue === undefined);
  return !deepEqual(write.value, currentValue);
}

/**
 * A delete conflicts with field writes the deleter did not see, and an edit
 * conflicts with a delete its writer did not see. The edit still merges into
 * the fields, so neither side is lost; the conflict (field `deletedAt`) lets a
 * coordinator choose between keeping the record deleted and restoring it.
 */
function deleteConflicts(
  before: RecordState | null,
  after: RecordState,
  change: Change,
  writes: FieldWrite[],
  seen: Record<string, Stamp | null> | undefined,
  writerMeta: (base: Stamp | null) => FieldMeta,
): ConflictDraft[] {
  if (!before) return [];
  const drafts: ConflictDraft[] = [];
  if (change.op === 'delete') {
    const deleteWrite = writes[0]!;
    if (before.deletedAt !== null) return [];
    const seenByDeleter = deleterSaw(seen ?? {}, deleteWrite.stamp);
    for (const [field, stamp] of Object.entries(before.stamps)) {
      const meta = before.meta[field];
      if (field === DELETED_AT || !meta || meta.isDefault || meta.changeId === null) continue;
      if (seenByDeleter(field, { stamp, meta })) continue;
      drafts.push(
        draftConflict(after, DELETED_AT, [
          { value: null, stamp, meta },
          { value: after.deletedAt, stamp: deleteWrite.stamp, meta: writerMeta(deleteWrite.base) },
        ]),
      );
    }
    return drafts;
  }

  const deleteStamp = before.stamps[DELETED_AT];
  const deleteMeta = before.meta[DELETED_AT];
  if (before.deletedAt === null || !deleteStamp || !deleteMeta) return [];
  const editorSawDelete = isStampOf(normalizeBase(before, DELETED_AT, change.base?.[DELETED_AT] ?? null), {
    stamp: deleteStamp,
    meta: deleteMeta,
  });
  if (editorSawDelete || writes.some((w) => w.field === DELETED_AT)) return [];
  const seenByDeleter = deleterSaw(deleteMeta.seen ?? {}, deleteStamp);
  const unseen = writes.filter(
    (write) => !seenByDeleter(write.field, { stamp: write.stamp, meta: { formerStamps: write.formerStamps } }),
  );
  if (unseen.length === 0) return [];
  const latest = unseen.reduce((a, b) => (compareStamps(a.stamp, b.stamp) >= 0 ? a : b));
  drafts.push(
    draftConflict(after, DELETED_AT, [
      { value: before.deletedAt, stamp: deleteStamp, meta: deleteMeta },
      { value: null, stamp: latest.stamp, meta: writerMeta(latest.base) },
    ]),
  );
  return drafts;
}

/**
 * Did the deleter see this field write? By its own word when it gave one
 * (exactly that value), else by stamp order (an older client that sent no
 * field stamps with its delete).
 */
function deleterSaw(seen: Record<string, Stamp | null>, deleteStamp: Stamp) {
  return (field: string, value: { stamp: Stamp; meta?: Pick<FieldMeta, 'formerStamps'> }): boolean => {
    if (field in seen && field !== DELETED_AT) return isStampOf(seen[field] ?? null, value as { stamp: Stamp });
    return compareStamps(value.stamp, deleteStamp) < 0;
  };
}

function setField(record: RecordState, field: string, value: unknown, stamp: Stamp, meta: FieldMeta): void {
  record.stamps[field] = stamp;
  record.meta[field] = meta;
  if (field === DELETED_AT) record.deletedAt = (value as string | null) ?? null;
  else record.fields[field] = value;
}

function fillDefaults(
  record: RecordState,
  entityType: EntityType,
  writes: FieldWrite[],
  ctx: MergeContext,
  writerMeta: (base: Stamp | null) => FieldMeta,
  contend = false,
): void {
  let createStamp = writes[0]!.stamp;
  for (const write of writes) if (write.stamp < createStamp) createStamp = write.stamp;
  // One meta for every default: nothing changes a stored meta in place (edits replace it), so they can share it.
  const meta: FieldMeta = { ...writerMeta(null), isDefault: true };
  // A field is this create's to fill when nothing holds it, or (contending) when another create's default
  // holds it and this one outranks it. Never over a value someone wrote.
  const takes = (field: string): boolean => {
    const held = record.stamps[field];
    if (held === undefined) return true;
    const heldMeta = record.meta[field];
    return contend && heldMeta?.isDefault === true && outranks(createStamp, meta.changeId, held, heldMeta.changeId);
  };
  const defaults = DEFAULT_FIELDS[entityType];
  for (const field of Object.keys(defaults)) {
    if (!takes(field)) continue;
    const value = defaults[field];
    setField(record, field, typeof value === 'object' && value !== null ? cloneJson(value) : value, createStamp, meta);
  }
  if (entityType === 'update' || entityType === 'document') {
    if (takes('createdAt')) setField(record, 'createdAt', stampTime(createStamp), createStamp, meta);
    if (takes('createdBy')) setField(record, 'createdBy', meta.author ?? ctx.author, createStamp, meta);
  }
}

/** A conflict between the given sides of one field (sorted by stamp; its id from their change ids). */
export function draftConflict(
  record: RecordState,
  field: string,
  sides: Array<{ value: unknown; stamp: Stamp; meta: FieldMeta }>,
): ConflictDraft {
  const values: ConflictValue[] = sides
    .map(({ value, stamp, meta }) => ({
      value: value ?? null,
      stamp,
      changeId: meta.changeId,
      author: meta.author,
      origin: meta.origin,
      clientTime: meta.clientTime,
    }))
    .sort((a, b) => compareStamps(a.stamp, b.stamp));
  return {
    id: conflictIdFor(
      values[0]!.changeId ?? values[0]!.stamp,
      values[1]!.changeId ?? values[1]!.stamp,
      record.entityId,
      field,
    ),
    entityType: record.entityType,
    entityId: record.entityId,
    field,
    values,
  };
}

function dedupe(drafts: ConflictDraft[]): ConflictDraft[] {
  const byId = new Map(drafts.map((draft) => [draft.id, draft]));
  return [...byId.values()];
}

/**
 * Merge a whole record state from another replica (pull side, and hub
 * bootstrap): per field, the higher stamp wins. Commutative, associative and
 * idempotent, so replicas converge in any order.
 */
export function mergeRecordStates(local: RecordState | null, remote: RecordState): RecordState {
  if (!local) return cloneJson(remote);
  const merged = cloneJson(local);
  for (const [field, stamp] of Object.entries(remote.stamps)) {
    const localStamp = merged.stamps[field];
    if (
      localStamp === undefined ||
      outranks(stamp, remote.meta[field]?.changeId, localStamp, merged.meta[field]?.changeId)
    ) {
      const value = field === DELETED_AT ? remote.deletedAt : remote.fields[field];
      const meta = cloneJson(remote.meta[field] ?? emptyMeta());
      setField(merged, field, cloneJson(value), stamp, withAliases(meta, local.meta[field], localStamp));
    } else if (localStamp !== stamp) {
      merged.meta[field] = withAliases(merged.meta[field], remote.meta[field], stamp) ?? merged.meta[field]!;
    }
  }
  merged.version = Math.max(local.version, remote.version);
  return merged;
}

/**
 * One write accepted at two servers (a device that moved, a hub forwarding
 * what the device also sent to the cloud) can carry two clamped stamps. Where
 * both copies meet, the kept one remembers the other's, so a base naming
 * either still counts as having seen it.
 */
export function withAliases<M extends FieldMeta | undefined>(
  kept: M,
  other: FieldMeta | undefined,
  otherStamp: Stamp | undefined,
): M {
  if (!kept || !other || !otherStamp || kept.changeId === null || kept.changeId !== other.changeId) return kept;
  const aliases = new Set([...(kept.formerStamps ?? []), ...(other.formerStamps ?? []), otherStamp]);
  return { ...kept, formerStamps: [...aliases].sort() };
}

function emptyMeta(): FieldMeta {
  return { changeId: null, author: null, origin: null, clientTime: null, base: null };
}

/**
 * A write this replica already took comes again under other stamps: another
 * server clamped it differently (a device that moved between the hub and the
 * cloud re-sent it), or the device re-sent its raw stamps. Every replica must
 * end with the same winner holding the highest stamp, whoever clamped first:
 *
 * - still the field's value here: keep it, under the higher stamp;
 * - beaten here by a write that saw it: that write stays, lifted above;
 * - beaten here by a concurrent write it now outranks: it becomes the value.
 *
 * A stamp still too far ahead is remembered (a base may name it), never
 * adopted. The record's version does not move: this is no new change.
 * Returns null when nothing changes.
 */
export function mergeAliasStamps(
  record: RecordState,
  change: Change,
  taken: Record<string, Stamp>,
  ctx: Pick<MergeContext, 'author' | 'origin' | 'nowMs'>,
): RecordState | null {
  let next: RecordState | null = null;
  for (const [field, alias] of Object.entries(change.stamps)) {
    const own = taken[field];
    const stamp = record.stamps[field];
    const meta = record.meta[field];
    if (!own || !stamp || !meta || alias === own) continue;
    const usable = !clampStamp(alias, ctx.nowMs).clamped;
    next ??= cloneJson(record);
    if (meta.changeId === change.changeId) {
      if (usable && compareStamps(alias, stamp) > 0) {
        next.stamps[field] = alias;
        // A delete's time is read from its stamp: the server that clamped it higher stored that time.
        if (field === DELETED_AT && change.op === 'delete' && next.deletedAt !== null)
          next.deletedAt = stampTime(alias);
        next.meta[field] = withAliases(
          { ...meta, formerStamps: meta.formerStamps?.filter((s) => s !== alias) },
          meta,
          stamp,
        );
      } else {
        next.meta[field] = withAliases(meta, meta, alias);
      }
      continue;
    }
    if (!usable || compareStamps(alias, stamp) <= 0) continue;
    const currentSawIt = meta.base !== null && (meta.base === own || meta.base === alias);
    if (currentSawIt) {
      next.stamps[field] = liftedStamp(alias);
      next.meta[field] = { ...meta, formerStamps: [...(meta.formerStamps ?? []), stamp] };
    } else {
      const value =
        field === DELETED_AT
          ? change.op === 'delete'
            ? stampTime(alias)
            : change.fields?.[field]
          : change.fields?.[field];
      setField(next, field, cloneJson(value ?? null), alias, {
        changeId: change.changeId,
        author: change.author ?? ctx.author,
        origin: change.origin ?? ctx.origin,
        clientTime: change.clientTime,
        base: change.base?.[field] ?? null,
        formerStamps: [own],
      });
    }
  }
  if (next) restampDefaults(next, change, taken);
  return next && !deepEqual(next, record) ? next : null;
}

/**
 * A create fills the fields it did not write (defaults, createdAt, createdBy)
 * under its own stamp. When the create's stamp was raised to another server's,
 * those move with it, and createdAt, which is read from that stamp, too.
 */
function restampDefaults(record: RecordState, change: Change, taken: Record<string, Stamp>): void {
  const raised = new Map<Stamp, Stamp>();
  for (const [field, own] of Object.entries(taken)) {
    const now = record.stamps[field];
    if (now && now !== own && record.meta[field]?.changeId === change.changeId) raised.set(own, now);
  }
  if (raised.size === 0) return;
  for (const [field, meta] of Object.entries(record.meta)) {
    const stamp = record.stamps[field];
    const to = stamp ? raised.get(stamp) : undefined;
    if (!meta.isDefault || meta.changeId !== change.changeId || !to) continue;
    record.stamps[field] = to;
    record.meta[field] = withAliases({ ...meta }, meta, stamp);
    if (field === 'createdAt') record.fields.createdAt = stampTime(to);
  }
}
