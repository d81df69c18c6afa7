/**
 * The re-pull after a server restore, against a fake server whose state we
 * set: what the restored server no longer has, and this device holds, is
 * offered again; what came back is not; an interrupted re-pull resumes.
 */
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import {
  formatStamp,
  validateChange,
  type Change,
  type PublicUser,
  type PullResponse,
  type PushResponse,
  type SyncRecord,
} from '@lifeline/core';
import { ApiError } from '$lib/api/client';
import type { Endpoints } from '$lib/api/endpoints';
import { getMeta, openLifelineDb, setMeta, type LifelineDb } from '$lib/db';
import { runSync } from './engine';
import { writeFields } from './outbox';

const T0 = Date.UTC(2030, 0, 1);
const stamp = (minutes: number, node = 'dev1') => formatStamp({ ms: T0 + minutes * 60_000, counter: 0, nodeId: node });
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function update(n: number, title: string, at: number, more: Partial<SyncRecord> = {}): SyncRecord {
  const s = stamp(at);
  const fields = {
    kind: 'need',
    title,
    body: '',
    priority: 'normal',
    status: 'open',
    location: null,
    tags: [],
    createdBy: 'someone',
    createdAt: new Date(T0 + at * 60_000).toISOString(),
  };
  return {
    entityType: 'update',
    entityId: uuid(n),
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((field) => [field, s])),
    version: 1,
    deletedAt: null,
    updatedAt: new Date(T0 + at * 60_000).toISOString(),
    ...more,
  };
}

function documentRecord(n: number, title: string, at: number): SyncRecord {
  const record = update(n, title, at);
  const fields = { title, body: `# ${title}`, tags: [], createdBy: 'someone', createdAt: record.fields.createdAt };
  return {
    ...record,
    entityType: 'document',
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((field) => [field, stamp(at)])),
  };
}

function edited(record: SyncRecord, fields: Record<string, unknown>, at: number): SyncRecord {
  const copy = structuredClone(record);
  for (const [field, value] of Object.entries(fields)) {
    copy.fields[field] = value;
    copy.stamps[field] = stamp(at, 'dev2');
  }
  copy.version += 1;
  return copy;
}

function deleted(record: SyncRecord, at: number): SyncRecord {
  const copy = structuredClone(record);
  copy.stamps.deletedAt = stamp(at, 'dev2');
  copy.deletedAt = new Date(T0 + at * 60_000).toISOString();
  copy.version += 1;
  return copy;
}

/** A server as the engine sees it: pages of `records`, cursors naming its id, a restore giving it a new one. */
class FakeServer {
  id = 'server-1';
  private readonly former: string[] = [];
  private generation = 1;
  pushed: Change[] = [];
  pulls = 0;
  /** The n-th pull call (1-based) fails as if the network dropped. */
  failPull: number | null = null;
  failPush = false;
  /** From this position on, pages are empty with hasMore (a long transaction holds the server back). */
  stallAt: number | null = null;
  /** Runs before a page is answered (the person edits meanwhile). */
  beforePage: ((from: number) => Promise<void>) | null = null;

  constructor(public records: SyncRecord[]) {}

  /** Restored from a backup: what it holds now, under a new id; cursors from before are "restored". */
  restore(records: SyncRecord[]): void {
    this.former.push(this.id);
    this.id = `server-${(this.generation += 1)}`;
    this.records = records;
  }

  /** Another server altogether (the device moved): its cursors are simply foreign. */
  replaceWithAnother(records: SyncRecord[]): void {
    this.id = `other-${(this.generation += 1)}`;
    this.records = records;
  }

  cursorAt(position: number): string {
    return `${this.id}@${position}`;
  }

  readonly api = {
    push: async (_clientId: string, changes: Change[]): Promise<PushResponse> => {
      if (this.failPush) throw new ApiError(0, 'network', 'Cannot reach the server.');
      this.pushed.push(...structuredClone(changes));
      return {
        results: changes.map((change) => ({ changeId: change.changeId, status: 'applied', version: 1 })),
        serverTime: new Date().toISOString(),
      };
    },
    pull: async (_clientId: string, cursor: string | null, limit: number): Promise<PullResponse> => {
      this.pulls += 1;
      if (this.failPull === this.pulls) throw new ApiError(0, 'network', 'Cannot reach the server.');
      let from = 0;
      if (cursor !== null) {
        const [server, position] = cursor.split('@');
        if (position === undefined) throw new ApiError(400, 'invalid_cursor', 'cursor is not one this server issued');
        if (server !== this.id) {
          throw new ApiError(
            409,
            'cursor_mismatch',
            'this cursor came from another server',
            this.former.includes(server!) ? { restored: true } : {},
          );
        }
        from = Number(position);
      }
      await this.beforePage?.(from);
      const serverTime = new Date().toISOString();
      if (this.stallAt !== null && from >= this.stallAt) {
        return { records: [], cursor: this.cursorAt(from), hasMore: true, serverTime };
      }
      const page = structuredClone(this.records.slice(from, from + limit));
      const next = from + page.length;
      return { records: page, cursor: this.cursorAt(next), hasMore: next < this.records.length, serverTime };
    },
  };

  endpoints(): Endpoints {
    return this.api as unknown as Endpoints;
  }

  pushedFor(entityId: string): Change[] {
    return this.pushed.filter((change) => change.entityId === entityId);
  }
}

const coordinator: PublicUser = {
  id: 'user-cora',
  email: 'cora@example.org',
  displayName: 'Cora',
  role: 'coordinator',
  communityId: uuid(999),
};

let dbCount = 0;
/** A device that synced everything the server had (`held`), with the server's cursor. */
async function deviceHolding(server: FakeServer, held: SyncRecord[], user: PublicUser = coordinator) {
  const db = await openLifelineDb(`repull-${Date.now()}-${(dbCount += 1)}`);
  await setMeta(db, 'clientId', 'device-1');
  await setMeta(db, 'user', user);
  const tx = db.transaction('records', 'readwrite');
  await Promise.all(held.map((record) => tx.store.put(structuredClone(record))));
  await tx.done;
  await setMeta(db, 'cursor', server.cursorAt(held.length));
  return db;
}

const sync = (db: LifelineDb, server: FakeServer, pullLimit = 1000) =>
  runSync({ db, api: server.endpoints(), reason: 'test', pullLimit });

/** The fields and stamps a re-offer of `record` must carry: everything it holds but the server-set ones. */
function heldWithoutServerSet(record: SyncRecord) {
  const { createdBy: _by, createdAt: _at, ...fields } = record.fields;
  const { createdBy: _sBy, createdAt: _sAt, ...stamps } = record.stamps;
  return { fields, stamps };
}

describe('re-pull after a server restore', () => {
  it('when the restored server does not bring a record back, then it waits in the outbox as a re-offer of all it holds', async () => {
    const a = update(1, 'Water at the school', 1);
    const b = update(2, 'Generator needed', 2);
    const server = new FakeServer([a, b]);
    const db = await deviceHolding(server, [a, b]);
    server.restore([a]);
    server.failPush = true;

    const report = await sync(db, server);
    expect(report).toMatchObject({ ok: false, reoffered: 1, error: { code: 'network' } });
    const outbox = await db.getAll('outbox');
    expect(outbox).toHaveLength(1);
    const { fields, stamps } = heldWithoutServerSet(b);
    expect(outbox[0]).toMatchObject({ reoffer: true, userId: coordinator.id });
    expect(outbox[0]!.change).toMatchObject({ entityType: 'update', entityId: b.entityId, op: 'upsert' });
    expect(outbox[0]!.change.fields).toEqual(fields);
    expect(outbox[0]!.change.stamps).toEqual(stamps);
    expect(outbox[0]!.change.base).toEqual(Object.fromEntries(Object.keys(fields).map((field) => [field, null])));
    // The server takes it whole, as a create (no base), from any member.
    const check = validateChange(structuredClone(outbox[0]!.change), { kind: 'user', role: 'volunteer' });
    expect(check).toMatchObject({ ok: true, ignoredFields: [] });
    expect(await getMeta(db, 'repullEpoch')).toBeNull();
    expect(await db.count('repullSeen')).toBe(0);

    // The next sync sends it; the server still refuses nothing, so nothing is offered twice.
    server.failPush = false;
    const next = await sync(db, server);
    expect(next).toMatchObject({ ok: true, pushed: 1, reoffered: 0 });
    expect(server.pushedFor(b.entityId)).toHaveLength(1);
    expect(server.pushedFor(a.entityId)).toHaveLength(0);
    expect(await db.count('outbox')).toBe(0);
  });

  it('when records come back, older or deleted or not at all, then each is offered again for exactly what the server lacks', async () => {
    const same = update(1, 'Same on both', 1);
    const older = update(2, 'Bridge closed', 2);
    const olderHere = edited(older, { title: 'Bridge open again', status: 'resolved' }, 10);
    const lostTombstone = deleted(update(3, 'Lost and deleted', 3), 11);
    const deletedHere = update(4, 'Deleted after the backup', 4);
    const deletedHereCopy = deleted(deletedHere, 12);
    const doc = documentRecord(5, 'Evacuation plan', 5);
    const server = new FakeServer([same, olderHere, lostTombstone, deletedHereCopy, doc]);
    const db = await deviceHolding(server, [same, olderHere, lostTombstone, deletedHereCopy, doc]);
    server.restore([same, older, deletedHere]);

    const report = await sync(db, server);
    expect(report).toMatchObject({ ok: true, reoffered: 4 });
    expect(server.pushedFor(same.entityId)).toEqual([]);

    // Brought back older: only the fields held newer, each having seen the server's value.
    const [partial, ...moreOlder] = server.pushedFor(older.entityId);
    expect(moreOlder).toEqual([]);
    expect(partial).toMatchObject({
      op: 'upsert',
      fields: { title: 'Bridge open again', status: 'resolved' },
      stamps: { title: olderHere.stamps.title, status: olderHere.stamps.status },
      base: { title: older.stamps.title, status: older.stamps.status },
    });

    // Lost with its tombstone: the record as held, then its delete, which saw every field.
    const [create, remove] = server.pushedFor(lostTombstone.entityId);
    expect(create).toMatchObject({ op: 'upsert', fields: heldWithoutServerSet(lostTombstone).fields });
    expect(create!.fields).not.toHaveProperty('deletedAt');
    expect(remove).toMatchObject({
      op: 'delete',
      stamps: { deletedAt: lostTombstone.stamps.deletedAt },
      base: { ...lostTombstone.stamps, deletedAt: null },
    });

    // Deleted here after the backup, alive at the server: the delete alone.
    expect(server.pushedFor(deletedHere.entityId)).toMatchObject([
      { op: 'delete', stamps: { deletedAt: deletedHereCopy.stamps.deletedAt }, base: { deletedAt: null } },
    ]);

    // A coordinator's device offers documents too.
    expect(server.pushedFor(doc.entityId)).toMatchObject([{ op: 'upsert', fields: { title: 'Evacuation plan' } }]);
    for (const change of server.pushed) {
      expect(validateChange(structuredClone(change), { kind: 'user', role: 'coordinator' }).ok).toBe(true);
    }
    // What this device shows is unchanged by it.
    expect((await db.get('records', ['update', older.entityId]))!.fields.title).toBe('Bridge open again');
  });

  it('when a record has a change waiting in the outbox, then it gets no second entry; a volunteer offers no documents', async () => {
    const kept = update(1, 'Kept', 1);
    const busy = update(2, 'Being edited', 2);
    const doc = documentRecord(3, 'Doc', 3);
    const server = new FakeServer([kept, busy, doc]);
    const volunteer = { ...coordinator, id: 'user-vic', role: 'volunteer' as const };
    const db = await deviceHolding(server, [kept, busy, doc], volunteer);
    server.restore([kept]);
    // The person edits the lost record while the re-pull runs.
    let change: Change | undefined;
    server.beforePage = async () => {
      change ??= await writeFields(db, volunteer.id, {
        entityType: 'update',
        entityId: busy.entityId,
        fields: { status: 'in_progress' },
        seen: busy.stamps,
      });
    };

    const report = await sync(db, server);
    expect(report).toMatchObject({ ok: true, reoffered: 0 });
    const outbox = await db.getAll('outbox');
    expect(outbox.map((entry) => entry.change)).toEqual([change]);
    // The edit goes out with the next sync, once, and alone.
    expect(await sync(db, server)).toMatchObject({ ok: true, pushed: 1, reoffered: 0 });
    expect(server.pushedFor(busy.entityId)).toEqual([change]);
    expect(server.pushedFor(doc.entityId)).toEqual([]);
    expect(await db.count('outbox')).toBe(0);
  });

  it('when the re-pull is interrupted, then the epoch survives and the next sync finishes it', async () => {
    const a = update(1, 'A', 1);
    const b = update(2, 'B', 2);
    const fromOthers = update(3, 'Written at the server since', 3);
    const server = new FakeServer([a, b]);
    const db = await deviceHolding(server, [a, b]);
    server.restore([a, fromOthers]);
    server.failPull = 3; // 1: refused cursor, 2: first page, 3: the network drops

    const first = await sync(db, server, 1);
    expect(first).toMatchObject({ ok: false, reoffered: 0, error: { code: 'network' } });
    const epoch = await getMeta(db, 'repullEpoch');
    expect(epoch).toMatchObject({ id: expect.any(String) });
    expect(await db.count('repullSeen')).toBe(1);
    expect(await db.count('outbox')).toBe(0);

    // Resumes from the stored cursor (no second refusal), and ends at the last page.
    const second = await sync(db, server, 1);
    expect(second).toMatchObject({ ok: true, reoffered: 1, pushed: 1 });
    expect(server.pushed.map((change) => change.entityId)).toEqual([b.entityId]);
    expect(await getMeta(db, 'repullEpoch')).toBeNull();
  });

  it('when the server is restored again during a re-pull, then a new epoch starts and the old marks count for nothing', async () => {
    const a = update(1, 'A', 1);
    const b = update(2, 'B', 2);
    const server = new FakeServer([a, b]);
    const db = await deviceHolding(server, [a, b]);
    server.restore([a, b]);
    server.failPull = 3;
    await sync(db, server, 1); // saw A in the first epoch, then the network dropped
    const firstEpoch = (await getMeta(db, 'repullEpoch'))!.id;

    // Restored once more, from an older backup that has neither.
    const other = update(3, 'Only at the server', 3);
    server.restore([other]);
    let secondEpoch: string | undefined;
    server.beforePage = async () => {
      secondEpoch = (await getMeta(db, 'repullEpoch'))?.id;
    };
    const report = await sync(db, server, 1);
    expect(report).toMatchObject({ ok: true, reoffered: 2 });
    expect(secondEpoch).toBeTruthy();
    expect(secondEpoch).not.toBe(firstEpoch);
    expect(new Set(server.pushed.map((change) => change.entityId))).toEqual(new Set([a.entityId, b.entityId]));
    expect(await getMeta(db, 'repullEpoch')).toBeNull();
  });

  it('when the re-pull stops on empty pages, then the epoch stays open and nothing is offered yet', async () => {
    const a = update(1, 'A', 1);
    const b = update(2, 'B', 2);
    const server = new FakeServer([a, b]);
    const db = await deviceHolding(server, [a, b]);
    server.restore([a]);
    server.stallAt = 0;

    const stalled = await sync(db, server);
    expect(stalled).toMatchObject({ ok: true, reoffered: 0 });
    expect(await getMeta(db, 'repullEpoch')).not.toBeNull();
    expect(server.pushed).toEqual([]);

    server.stallAt = null;
    const done = await sync(db, server);
    expect(done).toMatchObject({ ok: true, reoffered: 1 });
    expect(server.pushed.map((change) => change.entityId)).toEqual([b.entityId]);
  });

  it('when the device moved to another server, then it pulls from the start and offers nothing again', async () => {
    const a = update(1, 'A', 1);
    const b = update(2, 'B', 2);
    const server = new FakeServer([a, b]);
    const db = await deviceHolding(server, [a, b]);
    server.replaceWithAnother([a]);

    const report = await sync(db, server);
    expect(report).toMatchObject({ ok: true, reoffered: 0 });
    expect(server.pushed).toEqual([]);
    expect(await getMeta(db, 'repullEpoch')).toBeNull();
    expect(await getMeta(db, 'cursor')).toBe(server.cursorAt(1));
  });

  it('when the server cannot read the cursor at all, then the re-pull offers again what it lacks', async () => {
    const a = update(1, 'A', 1);
    const b = update(2, 'B', 2);
    const server = new FakeServer([a]);
    const db = await deviceHolding(server, [a, b]);
    await setMeta(db, 'cursor', 'garbage');

    const report = await sync(db, server);
    expect(report).toMatchObject({ ok: true, reoffered: 1 });
    expect(server.pushed.map((change) => change.entityId)).toEqual([b.entityId]);
  });
});

describe('IndexedDB upgrade to version 4', () => {
  it('keeps the records, the outbox and meta of a version 3 database', async () => {
    const name = `upgrade-${Date.now()}`;
    const old = await openDB(name, 3, {
      upgrade(database) {
        const records = database.createObjectStore('records', { keyPath: ['entityType', 'entityId'] });
        records.createIndex('byType', 'entityType');
        records.createIndex('byTypeCreated', ['entityType', 'fields.createdAt']);
        const outbox = database.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        outbox.createIndex('byEntity', ['change.entityType', 'change.entityId']);
        database.createObjectStore('meta');
        database.createObjectStore('needsAttention', { keyPath: 'changeId' });
        database.createObjectStore('syncLog', { keyPath: 'id', autoIncrement: true });
      },
    });
    const record = update(1, 'Kept through the upgrade', 1);
    await old.put('records', record);
    await old.add('outbox', { change: { changeId: uuid(7) }, userId: null });
    await old.put('meta', 'server-1@1', 'cursor');
    old.close();

    const db = await openLifelineDb(name);
    expect(db.version).toBeGreaterThanOrEqual(4);
    expect(await db.get('records', ['update', record.entityId])).toEqual(record);
    expect(await db.count('outbox')).toBe(1);
    expect(await getMeta(db, 'cursor')).toBe('server-1@1');
    expect([...db.objectStoreNames]).toContain('repullSeen');
    expect(await db.count('repullSeen')).toBe(0);
  });
});
