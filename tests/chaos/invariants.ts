/**
 * What must hold once the faults stop and everything has quiesced, checked
 * against what the browsers did and were told (DESIGN.md section 3):
 * convergence, no lost write, exactly-once effect, no skipped change, no
 * stuck queue, and no server error.
 */
import { deepEqual, DELETED_AT, type FieldMeta, type SyncRecord } from '@lifeline/core';
import pg from 'pg';
import { unpackMeta } from '../../backend/src/db/field-meta-codec';
import type { BrowserLedger } from './browser';

export interface ServerRecord {
  key: string;
  entityType: string;
  entityId: string;
  fields: Record<string, unknown>;
  stamps: Record<string, string>;
  meta: Record<string, FieldMeta>;
  deletedAt: string | null;
  version: number;
}

/** A change as the cloud logged it: stamps and bases as it took them. */
export interface LoggedChange {
  changeId: string;
  entityId: string;
  op: string;
  origin: string | null;
  fields: Record<string, unknown> | null;
  stamps: Record<string, string>;
  base: Record<string, string | null> | null;
}

export interface BrowserState {
  name: string;
  replica: SyncRecord[];
  outbox: number;
  /** Changes the server refused, with its reason. */
  rejections: string[];
  ledger: BrowserLedger;
}

export interface FinalState {
  cloud: Map<string, ServerRecord>;
  cloudLog: Map<string, LoggedChange>;
  /** The hub's log: a write it accepted may carry the stamp the hub clamped it to. */
  hubLog: Map<string, LoggedChange>;
  hub: Map<string, ServerRecord>;
  hubQueue: { pending: number; rejected: number };
  browsers: BrowserState[];
}

export interface InvariantResult {
  name: string;
  ok: boolean;
  checked: number;
  failures: string[];
}

const MAX_LISTED = 12;

export async function readServerRecords(url: string): Promise<Map<string, ServerRecord>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      entity_type: string;
      entity_id: string;
      fields: Record<string, unknown>;
      stamps: Record<string, string>;
      meta: unknown;
      deleted_at: Date | null;
      version: number;
    }>(`SELECT entity_type, entity_id::text, fields, stamps, meta, deleted_at, version FROM records`);
    return new Map(
      rows.map((row) => {
        const key = `${row.entity_type}/${row.entity_id}`;
        return [
          key,
          {
            key,
            entityType: row.entity_type,
            entityId: row.entity_id,
            fields: row.fields,
            stamps: row.stamps,
            meta: unpackMeta(row.meta),
            deletedAt: row.deleted_at ? row.deleted_at.toISOString() : null,
            version: row.version,
          },
        ];
      }),
    );
  } finally {
    await client.end();
  }
}

export async function readChangeLog(url: string): Promise<Map<string, LoggedChange>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<LoggedChange>(
      `SELECT change_id::text AS "changeId", entity_id::text AS "entityId", op, origin, fields, stamps, base FROM changes`,
    );
    return new Map(rows.map((row) => [row.changeId, row]));
  } finally {
    await client.end();
  }
}

export async function readUpstreamQueue(url: string): Promise<{ pending: number; rejected: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pending: number; rejected: number }>(
      `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending,
              count(*) FILTER (WHERE state = 'rejected')::int AS rejected FROM upstream_outbox`,
    );
    return rows[0]!;
  } finally {
    await client.end();
  }
}

function result(name: string, checked: number, failures: string[]): InvariantResult {
  return { name, ok: failures.length === 0, checked, failures: failures.slice(0, MAX_LISTED) };
}

/** What a browser is sent of a record: no password hashes. */
function asBrowserSees(record: ServerRecord) {
  const fields = { ...record.fields };
  const stamps = { ...record.stamps };
  if (record.entityType === 'user') {
    delete fields.passwordHash;
    delete stamps.passwordHash;
  }
  return { fields, stamps, deletedAt: record.deletedAt };
}

interface Comparable {
  fields: Record<string, unknown>;
  stamps: Record<string, string>;
  deletedAt: string | null;
}

const same = (a: Comparable, b: Comparable) =>
  deepEqual(a.fields, b.fields) && deepEqual(a.stamps, b.stamps) && a.deletedAt === b.deletedAt;

/** Which fields differ, with the stamps on each side ("here" first, then the cloud). */
function difference(here: Comparable, cloud: Comparable): string {
  const fields = new Set([...Object.keys(here.stamps), ...Object.keys(cloud.stamps)]);
  const parts: string[] = [];
  for (const field of fields) {
    const a = field === DELETED_AT ? here.deletedAt : here.fields[field];
    const b = field === DELETED_AT ? cloud.deletedAt : cloud.fields[field];
    if (here.stamps[field] !== cloud.stamps[field] || !deepEqual(a, b)) {
      parts.push(`${field} ${JSON.stringify(a)}@${here.stamps[field]} vs ${JSON.stringify(b)}@${cloud.stamps[field]}`);
    }
  }
  return parts.join('; ');
}

export function checkInvariants(state: FinalState): InvariantResult[] {
  return [
    convergence(state),
    noSkippedChange(state),
    noLostWrite(state),
    exactlyOnce(state),
    noSelfConflict(state),
    noStuckQueue(state),
    noServerError(state),
  ];
}

/**
 * A device's writes follow one another: its later write saw its earlier one,
 * so a conflict between two writes of one browser, both first accepted by the
 * same server, means causality was lost. (A device that moved between the hub
 * and the cloud may have seen a value the other server did not have yet; a
 * conflict is then the safe answer, and allowed.)
 */
function noSelfConflict(state: FinalState): InvariantResult {
  const writer = new Map<string, string>();
  for (const browser of state.browsers) for (const id of browser.ledger.made.keys()) writer.set(id, browser.name);
  const failures: string[] = [];
  let checked = 0;
  for (const record of state.cloud.values()) {
    if (record.entityType !== 'conflict') continue;
    checked += 1;
    const values =
      (record.fields.values as Array<{ changeId: string | null; origin: string | null }> | undefined) ?? [];
    const writers = values.map((value) => (value.changeId ? writer.get(value.changeId) : undefined));
    const oneServer = values.every((value) => value.origin === values[0]?.origin);
    if (oneServer && writers.length >= 2 && writers[0] !== undefined && writers.every((name) => name === writers[0])) {
      failures.push(
        `conflict ${record.entityId} on ${String(record.fields.field)} of ${String(record.fields.entityId)}: both writes are ${writers[0]}'s: ${JSON.stringify(record.fields.values)}`,
      );
    }
  }
  return result('no self-conflict: a device never conflicts with its own earlier write', checked, failures);
}

/** Every replica ends equal: the hub to the cloud, each browser to the cloud. */
function convergence(state: FinalState): InvariantResult {
  const failures: string[] = [];
  let checked = 0;
  for (const [key, record] of state.cloud) {
    checked += 1;
    const atHub = state.hub.get(key);
    if (atHub && !same(atHub, record)) failures.push(`hub differs on ${key}: ${difference(atHub, record)}`);
  }
  for (const browser of state.browsers) {
    const replica = new Map(browser.replica.map((r) => [`${r.entityType}/${r.entityId}`, r]));
    for (const [key, record] of state.cloud) {
      const local = replica.get(key);
      checked += 1;
      const seen = { fields: local?.fields ?? {}, stamps: local?.stamps ?? {}, deletedAt: local?.deletedAt ?? null };
      if (local && !same(seen, asBrowserSees(record)))
        failures.push(`${browser.name} differs on ${key}: ${difference(seen, asBrowserSees(record))}`);
    }
  }
  return result('convergence: hub and every browser equal the cloud', checked, failures);
}

/** Every record reached every replica; nothing exists somewhere but not at the cloud. */
function noSkippedChange(state: FinalState): InvariantResult {
  const failures: string[] = [];
  const cloudKeys = [...state.cloud.keys()];
  for (const key of cloudKeys) if (!state.hub.has(key)) failures.push(`hub lacks ${key}`);
  for (const key of state.hub.keys()) if (!state.cloud.has(key)) failures.push(`cloud lacks ${key} (the hub has it)`);
  for (const browser of state.browsers) {
    const keys = new Set(browser.replica.map((r) => `${r.entityType}/${r.entityId}`));
    const missing = cloudKeys.filter((key) => !keys.has(key));
    if (missing.length > 0)
      failures.push(`${browser.name} never pulled ${missing.length}: ${missing.slice(0, 3).join(', ')}`);
    for (const key of keys)
      if (!state.cloud.has(key)) failures.push(`${browser.name} holds ${key}, the cloud does not`);
  }
  return result(
    'no skipped change: every replica holds every record',
    cloudKeys.length * (state.browsers.length + 1),
    failures,
  );
}

/**
 * Every field write a browser made is in the final state, or kept in a
 * conflict, or was replaced by a write whose writer saw exactly it (or an
 * equal value), or equals the final value.
 */
function noLostWrite(state: FinalState): InvariantResult {
  const failures: string[] = [];
  let checked = 0;
  // Per entity and field: the stamps every logged write's base names, and the values behind stamps.
  const seenStamps = new Map<string, Set<string>>();
  const changeAt = new Map<string, string>();
  for (const change of [...state.cloudLog.values(), ...state.hubLog.values()]) {
    for (const [field, stamp] of Object.entries(change.stamps)) {
      changeAt.set(`${change.entityId}/${field}/${stamp}`, change.changeId);
    }
    for (const [field, base] of Object.entries(change.base ?? {})) {
      if (base === null || change.stamps[field] === undefined) continue;
      const key = `${change.entityId}/${field}`;
      const set = seenStamps.get(key) ?? new Set<string>();
      set.add(base);
      seenStamps.set(key, set);
    }
  }
  // Kept in a conflict: this write, or an equal value written concurrently (the value is what matters).
  const keptInConflict = new Set<string>();
  const valuesInConflict = new Map<string, Array<{ changeId: string | null }>>();
  for (const record of state.cloud.values()) {
    if (record.entityType !== 'conflict') continue;
    const values = (record.fields.values as Array<{ changeId: string | null; value: unknown }> | undefined) ?? [];
    const key = `${String(record.fields.entityId)}/${String(record.fields.field)}`;
    for (const value of values) {
      if (value.changeId) keptInConflict.add(`${String(record.fields.entityId)}/${value.changeId}`);
      valuesInConflict.set(key, [...(valuesInConflict.get(key) ?? []), value]);
    }
  }

  for (const browser of state.browsers) {
    for (const made of browser.ledger.made.values()) {
      const logged = state.cloudLog.get(made.changeId);
      if (!logged) {
        failures.push(`${browser.name} ${made.changeId} never reached the cloud`);
        continue;
      }
      const final = state.cloud.get(`update/${made.entityId}`);
      for (const [field, stamp] of Object.entries(logged.stamps)) {
        checked += 1;
        if (!final) {
          failures.push(`update/${made.entityId} is missing at the cloud`);
          break;
        }
        const value = field === DELETED_AT ? 'deleted' : made.fields?.[field];
        if (final.meta[field]?.changeId === made.changeId) continue;
        if (keptInConflict.has(`${made.entityId}/${made.changeId}`)) continue;
        // A twin: a write of the same value from the same base (two people made the same edit at once).
        const myBase = logged.base?.[field] ?? null;
        const isTwin = (changeId: string | null | undefined) => {
          const twin = changeId ? state.cloudLog.get(changeId) : undefined;
          return !!twin && (twin.base?.[field] ?? null) === myBase && deepEqual(twin.fields?.[field], value);
        };
        const conflicting = valuesInConflict.get(`${made.entityId}/${field}`) ?? [];
        if (field !== DELETED_AT && conflicting.some((kept) => isTwin(kept.changeId))) continue;
        if (field === DELETED_AT ? final.deletedAt !== null : deepEqual(value, final.fields[field])) continue;
        const seen = seenStamps.get(`${made.entityId}/${field}`) ?? new Set<string>();
        // The write under every stamp it carried: as sent, as the cloud took it, as the hub took it.
        const aliases = [stamp, made.stamps[field], state.hubLog.get(made.changeId)?.stamps[field]];
        const seenExactly = aliases.some((alias) => alias !== undefined && seen.has(alias));
        const seenEqualValue = [...seen].some((s) => isTwin(changeAt.get(`${made.entityId}/${field}/${s}`)));
        if (seenExactly || seenEqualValue) continue;
        const winner = final.meta[field]?.changeId ? state.cloudLog.get(final.meta[field].changeId) : undefined;
        const short = (id: string | null | undefined) => (id ? id.slice(0, 8) : '-');
        const story = [...state.cloudLog.values(), ...state.hubLog.values()]
          .filter((c) => c.entityId === made.entityId && c.stamps[field] !== undefined)
          .map(
            (c) =>
              `${state.hubLog.get(c.changeId) === c ? 'hub' : 'cloud'}:${short(c.changeId)}=${JSON.stringify(field === DELETED_AT ? c.op : c.fields?.[field])}@${c.stamps[field]}<-${c.base?.[field] ?? null}`,
          );
        const conflicts = [...state.cloud.values()]
          .filter((r) => r.entityType === 'conflict' && r.fields.entityId === made.entityId)
          .map(
            (r) =>
              `${String(r.fields.field)}:[${(r.fields.values as Array<{ changeId: string }>).map((v) => short(v.changeId)).join(',')}]`,
          );
        failures.push(
          `${browser.name} wrote ${field}=${JSON.stringify(value)} on update/${made.entityId} (${made.changeId} at ${stamp}, base ${logged.base?.[field]}): ` +
            `not final, in no conflict, seen by nobody; final ${JSON.stringify(final.fields[field])} at ${final.stamps[field]} ` +
            `by ${final.meta[field]?.changeId} (base ${winner?.base?.[field]}); writes ${story.join(' ')}; conflicts ${conflicts.join(' ')}`,
        );
      }
    }
  }
  return result(
    'no lost write: every accepted field write is final, in a conflict, or knowingly replaced',
    checked,
    failures,
  );
}

/** Each change took effect once: logged once at the cloud, versions count the changes, replays are duplicates. */
function exactlyOnce(state: FinalState): InvariantResult {
  const failures: string[] = [];
  const changesPerEntity = new Map<string, number>();
  let checked = 0;
  for (const browser of state.browsers) {
    failures.push(...browser.ledger.replayViolations);
    for (const made of browser.ledger.made.values()) {
      changesPerEntity.set(made.entityId, (changesPerEntity.get(made.entityId) ?? 0) + 1);
    }
  }
  for (const [entityId, count] of changesPerEntity) {
    checked += 1;
    const record = state.cloud.get(`update/${entityId}`);
    if (record && record.version !== count) {
      failures.push(`update/${entityId}: version ${record.version}, but ${count} changes were made to it`);
    }
  }
  return result('exactly-once: versions equal the changes made, replays answer duplicate', checked, failures);
}

function noStuckQueue(state: FinalState): InvariantResult {
  const failures: string[] = [];
  for (const browser of state.browsers) {
    if (browser.outbox > 0) failures.push(`${browser.name} still has ${browser.outbox} changes in its outbox`);
    for (const rejection of browser.rejections) failures.push(`${browser.name} had a change rejected: ${rejection}`);
  }
  if (state.hubQueue.pending > 0) failures.push(`hub still has ${state.hubQueue.pending} changes to send up`);
  if (state.hubQueue.rejected > 0) failures.push(`the cloud rejected ${state.hubQueue.rejected} of the hub's changes`);
  return result(
    'no stuck queue: every outbox and the hub queue drained, nothing rejected',
    state.browsers.length + 1,
    failures,
  );
}

function noServerError(state: FinalState): InvariantResult {
  const failures = state.browsers.flatMap((browser) => browser.ledger.serverErrors);
  const checked = state.browsers.reduce((sum, browser) => sum + browser.ledger.syncs, 0);
  return result('no server error: no 500 answer, whatever the fault', checked, failures);
}
