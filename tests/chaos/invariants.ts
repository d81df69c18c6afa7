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
  const outcome = result('no self-conflict: a device never conflicts with its own earlier write', checked, failures);
  const first = / of ([0-9a-f-]{36}): /.exec(failures[0] ?? '')?.[1];
  if (first) outcome.failures.push(...explainDivergence(state, `differs on update/${first}:`));
  return outcome;
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
  const outcome = result('convergence: hub and every browser equal the cloud', checked, failures);
  if (failures.length > 0) outcome.failures.push(...explainDivergence(state, failures[0]!));
  return outcome;
}

/** For the first record that differs: what each side holds and every logged change of it, to replay by hand. */
function explainDivergence(state: FinalState, failure: string): string[] {
  const key = /differs on (\S+):/.exec(failure)?.[1];
  if (!key) return [];
  const entityId = key.split('/')[1];
  const show = (record: Pick<ServerRecord, 'fields' | 'stamps' | 'meta'> | undefined) =>
    record
      ? JSON.stringify({
          stamps: record.stamps,
          writers: Object.fromEntries(
            Object.entries(record.meta).map(([field, m]) => [field, [m.changeId, m.base, m.formerStamps ?? []]]),
          ),
        })
      : 'absent';
  const maker = (changeId: string) => state.browsers.find((b) => b.ledger.made.has(changeId));
  const log = (name: string, entries: Map<string, LoggedChange>) =>
    [...entries.values()]
      .filter((change) => change.entityId === entityId)
      .map(
        (change) =>
          `  ${name} log ${change.changeId} by ${maker(change.changeId)?.name ?? '?'} ${change.op} from ${change.origin}: ` +
          `stamps ${JSON.stringify(change.stamps)} base ${JSON.stringify(change.base)} ` +
          `sent ${JSON.stringify(maker(change.changeId)?.ledger.made.get(change.changeId)?.stamps ?? null)} ` +
          `answers ${JSON.stringify(maker(change.changeId)?.ledger.answers.get(change.changeId) ?? [])}`,
      );
  return [
    `  explain ${key}: cloud ${show(state.cloud.get(key))}`,
    `  explain ${key}: hub ${show(state.hub.get(key))}`,
    ...log('cloud', state.cloudLog),
    ...log('hub', state.hubLog),
  ];
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

/** One write to one field, under every stamp it carried (as sent, as the cloud and the hub took it). */
interface FieldWrite {
  changeId: string;
  value: unknown;
  stamps: Set<string>;
  base: string | null;
}

/**
 * Every field write a browser made is kept: it is the final value, or kept in
 * a conflict, or replaced by a write whose writer saw exactly it, or its
 * value equals the final one or that of a concurrent write that is kept (two
 * people made the same edit at once: nothing was lost).
 */
function noLostWrite(state: FinalState): InvariantResult {
  const failures: string[] = [];
  let checked = 0;
  const logs = [...state.cloudLog.values(), ...state.hubLog.values()];
  const raw = new Map<string, Record<string, string>>();
  for (const browser of state.browsers)
    for (const made of browser.ledger.made.values()) raw.set(made.changeId, made.stamps);

  // entity/field → its writes by change id.
  const byField = new Map<string, Map<string, FieldWrite>>();
  for (const change of logs) {
    for (const [field, stamp] of Object.entries(change.stamps)) {
      const key = `${change.entityId}/${field}`;
      const writes = byField.get(key) ?? new Map<string, FieldWrite>();
      byField.set(key, writes);
      const write = writes.get(change.changeId) ?? {
        changeId: change.changeId,
        value: field === DELETED_AT ? 'deleted' : change.fields?.[field],
        stamps: new Set<string>(),
        base: change.base?.[field] ?? null,
      };
      write.stamps.add(stamp);
      const sent = raw.get(change.changeId)?.[field];
      if (sent) write.stamps.add(sent);
      writes.set(change.changeId, write);
    }
  }
  const keptInConflict = new Set<string>();
  for (const record of state.cloud.values()) {
    if (record.entityType !== 'conflict') continue;
    const values = (record.fields.values as Array<{ changeId: string | null }> | undefined) ?? [];
    for (const value of values)
      if (value.changeId) keptInConflict.add(`${String(record.fields.entityId)}/${value.changeId}`);
  }

  for (const browser of state.browsers) {
    for (const made of browser.ledger.made.values()) {
      if (!state.cloudLog.has(made.changeId)) {
        failures.push(`${browser.name} ${made.changeId} never reached the cloud`);
        continue;
      }
      const final = state.cloud.get(`update/${made.entityId}`);
      if (!final) {
        failures.push(`update/${made.entityId} is missing at the cloud`);
        continue;
      }
      for (const field of Object.keys(made.stamps)) {
        checked += 1;
        const writes = byField.get(`${made.entityId}/${field}`) ?? new Map<string, FieldWrite>();
        const parentOf = (write: FieldWrite) =>
          write.base === null ? undefined : [...writes.values()].find((other) => other.stamps.has(write.base!));
        const ancestors = (write: FieldWrite) => {
          const found = new Set<string>();
          for (let parent = parentOf(write); parent && !found.has(parent.changeId); parent = parentOf(parent)) {
            found.add(parent.changeId);
          }
          return found;
        };
        const keptAsItself = (write: FieldWrite) =>
          final.meta[field]?.changeId === write.changeId ||
          keptInConflict.has(`${made.entityId}/${write.changeId}`) ||
          [...writes.values()].some((other) => other.base !== null && write.stamps.has(other.base));
        const mine = writes.get(made.changeId)!;
        const finalValue = field === DELETED_AT ? (final.deletedAt === null ? null : 'deleted') : final.fields[field];
        if (keptAsItself(mine) || deepEqual(mine.value, finalValue)) continue;
        const myAncestors = ancestors(mine);
        const keptTwin = [...writes.values()].some(
          (other) =>
            other.changeId !== mine.changeId &&
            deepEqual(other.value, mine.value) &&
            !myAncestors.has(other.changeId) &&
            !ancestors(other).has(mine.changeId) &&
            keptAsItself(other),
        );
        if (keptTwin) continue;
        failures.push(
          `${browser.name} wrote ${field}=${JSON.stringify(mine.value)} on update/${made.entityId}: ${story(writes, final, field)}`,
        );
      }
    }
  }
  const outcome = result(
    'no lost write: every accepted field write is final, in a conflict, or knowingly replaced',
    checked,
    failures,
  );
  const first = / on (update\/[0-9a-f-]{36}): /.exec(failures[0] ?? '')?.[1];
  if (first) outcome.failures.push(...explainDivergence(state, `differs on ${first}:`));
  return outcome;
}

/** Every write to the field, oldest first, with what each saw: what a person needs to see a loss. */
function story(writes: Map<string, FieldWrite>, final: ServerRecord, field: string): string {
  const short = (id: string | null | undefined) => (id ? id.slice(0, 8) : '-');
  const lines = [...writes.values()]
    .sort((a, b) => ([...a.stamps].sort()[0]! < [...b.stamps].sort()[0]! ? -1 : 1))
    .map((w) => `${short(w.changeId)}=${JSON.stringify(w.value)}@${[...w.stamps].sort().join('|')}<-${w.base}`);
  return `final by ${short(final.meta[field]?.changeId)}; writes ${lines.join(' ')}`;
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
