/**
 * Pull pages are built by Postgres, for members (records.ts `pullWireAfter`)
 * and for hubs. A member's page must say what `toWire` says for a member
 * (hub-only fields gone, times in the same ISO form). A hub's page is built by Postgres (records.ts `pullHubWireAfter`,
 * field-meta-codec.ts `unpackMetaSql`). It must say exactly what the server's
 * own reading says (`getRecord` → `unpackMeta` → `toWire`): a hub merges by
 * that authorship, and a key present on one side and absent on the other
 * would make it rewrite (and re-send to its members) records that did not
 * change. Random records of every meta shape, stored by `saveRecords`, on
 * real Postgres.
 */
import { randomUUID } from 'node:crypto';
import type { FieldMeta, RecordState } from '@lifeline/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCommunity } from '../../backend/src/db/communities';
import { getRecord, pullHubWireAfter, pullWireAfter, saveRecords } from '../../backend/src/db/records';
import { toWire } from '../../backend/src/services/sync';
import type { Principal } from '../../backend/src/principal';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
const communityId = randomUUID();
const hub: Principal = { kind: 'hub', deviceId: randomUUID(), communityId, name: 'hub' };
const member: Principal = {
  kind: 'user',
  userId: randomUUID(),
  communityId,
  role: 'volunteer',
  email: 'm@example.org',
  displayName: 'M',
  sessionId: 's',
};

beforeAll(async () => {
  server = await startTestServer();
  await ensureCommunity(server.server.ctx.db, communityId, 'Wire test');
});
afterAll(() => server?.stop());

const stamp = fc
  .tuple(fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }), fc.integer({ min: 0, max: 99_999 }))
  .map(([ms, counter]) => `${String(ms).padStart(15, '0')}:${String(counter).padStart(5, '0')}:node-a`);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
const fieldMeta: fc.Arbitrary<FieldMeta> = fc
  .record({
    changeId: maybe(fc.uuid()),
    author: maybe(fc.constantFrom('u1', 'u2', 'hub:x')),
    origin: maybe(fc.constantFrom('cloud', 'hub:1')),
    clientTime: maybe(fc.constant('2026-12-01T10:00:00.000Z')),
    base: maybe(stamp),
    isDefault: fc.option(fc.constant(true as const), { nil: undefined }),
    seen: fc.option(fc.dictionary(fc.constantFrom('title', 'body', 'deletedAt'), maybe(stamp)), { nil: undefined }),
    formerStamps: fc.option(fc.array(stamp, { maxLength: 3 }), { nil: undefined }),
  })
  .map((meta) => {
    const clean: FieldMeta = { ...meta };
    for (const key of Object.keys(clean) as Array<keyof FieldMeta>) if (clean[key] === undefined) delete clean[key];
    return clean;
  });
const fieldNames = fc.uniqueArray(fc.constantFrom('title', 'body', 'kind', 'tags', 'passwordHash', 'a"b', 'ü'), {
  maxLength: 6,
});
const record: fc.Arbitrary<RecordState> = fieldNames.chain((names) =>
  fc.record({
    entityType: fc.constantFrom('update' as const, 'document' as const, 'user' as const),
    entityId: fc.uuid(),
    fields: fc.record(Object.fromEntries(names.map((name) => [name, fc.jsonValue()]))),
    stamps: fc.record(Object.fromEntries(names.map((name) => [name, stamp]))),
    meta: fc.record(Object.fromEntries(names.map((name) => [name, fieldMeta]))),
    deletedAt: maybe(fc.constant('2026-12-01T10:00:00.000Z')),
    version: fc.integer({ min: 1, max: 1000 }),
  }),
);

describe('hub pull pages built by Postgres', () => {
  it('say what the server reads back, for records of every meta shape', async () => {
    const db = server.server.ctx.db;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(record, { minLength: 1, maxLength: 8, selector: (r) => r.entityId }),
        async (records) => {
          await saveRecords(db, communityId, records);
          const rows = await db.transaction((tx) => pullHubWireAfter(tx, communityId, { txId: '0', seq: 0 }, 100_000));
          const built = new Map(
            rows.map((row) => {
              const wire = JSON.parse(row.json) as { entityId: string };
              return [wire.entityId, wire];
            }),
          );
          for (const written of records) {
            const stored = await getRecord(db, communityId, written.entityType, written.entityId);
            const expected = JSON.parse(JSON.stringify(toWire(stored!, hub)));
            expect(built.get(written.entityId)).toEqual(expected);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('pass through meta stored before packing as it is', async () => {
    const db = server.server.ctx.db;
    const entityId = randomUUID();
    const legacy = { title: { changeId: 'c', author: 'a', origin: 'o', clientTime: null, base: null } };
    await db.query(
      `INSERT INTO records (community_id, entity_type, entity_id, fields, stamps, meta, version)
       VALUES ($1, 'document', $2, '{"title": "t"}', '{"title": "001700000000000:00000:n"}', $3, 1)`,
      [communityId, entityId, JSON.stringify(legacy)],
    );
    const rows = await db.transaction((tx) => pullHubWireAfter(tx, communityId, { txId: '0', seq: 0 }, 100_000));
    const wire = rows.map((row) => JSON.parse(row.json)).find((r: { entityId: string }) => r.entityId === entityId);
    expect(wire.meta).toEqual(legacy);
  });
});

describe('member pull pages built by Postgres', () => {
  it('say what toWire says for a member: hub-only fields left out, the same times', async () => {
    const db = server.server.ctx.db;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(record, { minLength: 1, maxLength: 8, selector: (r) => r.entityId }),
        async (records) => {
          await saveRecords(db, communityId, records);
          const rows = await db.transaction((tx) =>
            pullWireAfter(tx, communityId, { txId: '0', seq: 0 }, 100_000, ['passwordHash']),
          );
          const built = new Map(
            rows.map((row) => {
              const wire = JSON.parse(row.json) as { entityId: string };
              return [wire.entityId, wire];
            }),
          );
          for (const written of records) {
            const stored = await getRecord(db, communityId, written.entityType, written.entityId);
            const expected = JSON.parse(JSON.stringify(toWire(stored!, member)));
            expect(built.get(written.entityId)).toEqual(expected);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
