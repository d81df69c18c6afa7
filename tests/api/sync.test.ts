import { randomUUID } from 'node:crypto';
import { formatStamp } from '@lifeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, edit, remove, seedCommunity, stamp } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;
let volunteer: ApiClient;
let coordinator: ApiClient;

beforeAll(async () => {
  server = await startTestServer();
  seeded = await seedCommunity(server.url);
  volunteer = seeded.volunteer.client;
  coordinator = seeded.coordinator.client;
});
afterAll(async () => server.stop());

const push = (client: ApiClient, changes: unknown[], clientId = 'test-client') =>
  client.post('/api/sync/push', { clientId, changes });

async function pullAll(client: ApiClient, cursor: string | null = null, limit?: number) {
  const records: any[] = [];
  let next = cursor;
  for (let page = 0; page < 1000; page += 1) {
    const reply = await client.post('/api/sync/pull', {
      clientId: 'puller',
      cursor: next,
      ...(limit ? { limit } : {}),
    });
    expect(reply.status).toBe(200);
    records.push(...reply.body.records);
    next = reply.body.cursor;
    if (!reply.body.hasMore) break;
  }
  return { records, cursor: next };
}

describe('push', () => {
  it('when a volunteer creates an update, then it is applied with defaults and server-set createdBy/createdAt', async () => {
    const change = createUpdate('nodeV', { kind: 'need', title: 'Blankets', priority: 'high' });
    const reply = await push(volunteer, [change]);
    expect(reply.status).toBe(200);
    expect(reply.body.results).toEqual([{ changeId: change.changeId, status: 'applied', version: 1 }]);
    expect(Date.parse(reply.body.serverTime)).not.toBeNaN();
    const { body } = await volunteer.get(`/api/records/update/${change.entityId}`);
    expect(body.record).toMatchObject({
      entityType: 'update',
      entityId: change.entityId,
      version: 1,
      deletedAt: null,
      fields: {
        kind: 'need',
        title: 'Blankets',
        priority: 'high',
        status: 'open',
        body: '',
        tags: [],
        createdBy: seeded.volunteer.user.id,
      },
    });
    expect(body.record.fields.createdAt).toBe(new Date(Number(change.stamps.title.slice(0, 15))).toISOString());
    expect(body.record.stamps.title).toBe(change.stamps.title);
  });

  it("when a create carries createdBy and createdAt, then it applies with the server's values in their place", async () => {
    const whole = createUpdate('nodeV', {
      kind: 'offer',
      title: 'Generator to lend',
      createdBy: 'someone-else',
      createdAt: '2001-01-01T00:00:00.000Z',
    });
    const reply = await push(volunteer, [whole]);
    expect(reply.body.results[0]).toMatchObject({
      status: 'applied',
      version: 1,
      ignoredFields: ['createdBy', 'createdAt'],
    });
    const { body } = await volunteer.get(`/api/records/update/${whole.entityId}`);
    expect(body.record.fields).toMatchObject({
      title: 'Generator to lend',
      createdBy: seeded.volunteer.user.id,
      createdAt: new Date(Number(whole.stamps.title.slice(0, 15))).toISOString(),
    });
    expect(Object.keys(body.record.stamps)).toContain('createdBy');
    // An edit that carries them again (a client sending the whole record) changes only what it may.
    const again = edit(
      'nodeV',
      whole.entityId,
      { title: 'Generator to lend (petrol)', createdBy: 'x', createdAt: '2030-01-01T00:00:00.000Z' },
      { title: whole.stamps.title, createdBy: null, createdAt: null },
    );
    expect((await push(volunteer, [again])).body.results[0]).toMatchObject({ status: 'applied', version: 2 });
    const after = (await volunteer.get(`/api/records/update/${whole.entityId}`)).body.record;
    expect(after.fields).toMatchObject({ title: 'Generator to lend (petrol)', createdBy: seeded.volunteer.user.id });
    expect(after.fields.createdAt).toBe(body.record.fields.createdAt);
    // Only server-set fields, on a record that exists: accepted, nothing of it changes the record's fields.
    const onlyServerSet = edit('nodeV', whole.entityId, { createdBy: 'x' }, { createdBy: null });
    expect((await push(volunteer, [onlyServerSet])).body.results[0]).toMatchObject({
      status: 'applied',
      ignoredFields: ['createdBy'],
    });
    expect((await volunteer.get(`/api/records/update/${whole.entityId}`)).body.record.fields).toEqual(after.fields);
  });

  it('when the same change is sent again, then it is a duplicate and nothing moves', async () => {
    const change = createUpdate('nodeV');
    await push(volunteer, [change]);
    const again = await push(volunteer, [change, change]);
    expect(again.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate']);
    const { body } = await volunteer.get(`/api/records/update/${change.entityId}`);
    expect(body.record.version).toBe(1);
  });

  it('when one change in a batch is invalid, then only it is rejected, with its reason, and the others apply', async () => {
    const good = createUpdate('nodeV');
    const badField = createUpdate('nodeV', { kind: 'rumour', title: 'x' });
    const noStamp = { ...createUpdate('nodeV'), stamps: {} };
    const badStamp = { ...createUpdate('nodeV'), stamps: { kind: 'yesterday', title: 'yesterday' } };
    const unknownType = { ...createUpdate('nodeV'), entityType: 'spaceship' };
    const missingTitle = createUpdate('nodeV', { kind: 'need' });
    const tooLong = createUpdate('nodeV', { kind: 'need', title: 'x'.repeat(201) });
    const document = { ...createUpdate('nodeV', { title: 'Guide' }), entityType: 'document' };
    const reply = await push(volunteer, [
      good,
      badField,
      noStamp,
      badStamp,
      unknownType,
      missingTitle,
      tooLong,
      document,
      'not even an object',
    ]);
    const statuses = reply.body.results.map((r: { status: string; error?: { code: string } }) =>
      r.status === 'rejected' ? r.error!.code : r.status,
    );
    expect(statuses).toEqual([
      'applied',
      'invalid_field',
      'missing_stamp',
      'invalid_stamp',
      'unknown_entity_type',
      'missing_required_fields',
      'invalid_field',
      'forbidden',
      'invalid_change',
    ]);
    for (const rejected of [badField, noStamp, badStamp, unknownType, missingTitle, tooLong, document]) {
      expect((await volunteer.get(`/api/records/update/${rejected.entityId}`)).status).toBe(404);
    }
    // A rejected changeId was not stored: fixed and re-sent, it applies.
    const fixed = {
      ...missingTitle,
      fields: { kind: 'need', title: 'Now titled' },
      stamps: { kind: missingTitle.stamps.kind, title: missingTitle.stamps.kind },
    };
    expect((await push(volunteer, [fixed])).body.results[0].status).toBe('applied');
  });

  it('when a coordinator writes a document, then it applies; volunteers may not', async () => {
    const document = {
      ...createUpdate('nodeC', { title: 'Shelter guide', body: '# Shelters\nSchool gym', tags: ['shelter'] }),
      entityType: 'document',
    };
    expect((await push(coordinator, [document])).body.results[0].status).toBe('applied');
    const edited = edit(
      'nodeV',
      document.entityId,
      { title: 'Vandalised' },
      { title: document.stamps.title },
      'document',
    );
    expect((await push(volunteer, [edited])).body.results[0].error.code).toBe('forbidden');
  });

  it('when a stamp is more than 5 minutes ahead, then it is clamped and the result says so', async () => {
    const future = Date.now() + 24 * 60 * 60 * 1000;
    const change = createUpdate('nodeFuture');
    change.stamps = { kind: stamp('nodeFuture', future), title: stamp('nodeFuture', future) };
    const reply = await push(volunteer, [change]);
    expect(reply.body.results[0]).toMatchObject({ status: 'applied', clamped: true });
    const { body } = await volunteer.get(`/api/records/update/${change.entityId}`);
    expect(Number(body.record.stamps.title.slice(0, 15))).toBeLessThanOrEqual(Date.now() + 5 * 60 * 1000);
    // A later honest edit still wins over the clamped one.
    const honest = edit('nodeV', change.entityId, { title: 'Honest' }, { title: body.record.stamps.title });
    await push(volunteer, [honest]);
    expect((await volunteer.get(`/api/records/update/${change.entityId}`)).body.record.fields.title).toBe('Honest');
  });

  it('when a device hours ahead edits a value stamped a little ahead of this server, then its clamped edit still wins', async () => {
    // Another device's clock runs a minute ahead (within the 5 minutes allowed): its stamp stays as sent.
    const created = createUpdate('nodeAheadALittle', { kind: 'need', title: 'Seen' });
    const minuteAhead = formatStamp({ ms: Date.now() + 60_000, counter: 0, nodeId: 'nodeAheadALittle' });
    created.stamps = { kind: minuteAhead, title: minuteAhead };
    await push(volunteer, [created]);
    // The edit reaches another instance, whose clock never folded that stamp in.
    const other = await startTestServer({ DATABASE_URL: server.database!.url });
    try {
      const fast = edit('nodeFast2', created.entityId, { title: 'Edited after seeing it' }, { title: minuteAhead });
      fast.stamps = { title: formatStamp({ ms: Date.now() + 3 * 60 * 60 * 1000, counter: 0, nodeId: 'nodeFast2' }) };
      const reply = await new ApiClient(other.url).post(
        '/api/sync/push',
        { clientId: 'fast', changes: [fast] },
        { cookie: volunteer.sessionCookie! },
      );
      expect(reply.body.results[0]).toMatchObject({ status: 'applied', clamped: true });
      expect(reply.body.results[0].stamps.title > minuteAhead).toBe(true);
      const { record } = (await volunteer.get(`/api/records/update/${created.entityId}`)).body;
      expect(record.fields.title).toBe('Edited after seeing it');
    } finally {
      await other.server.close(1000);
    }
  });

  it('when a device hours ahead edits its own write again in the same batch, then both apply in order, each with its own stamp', async () => {
    const ahead = Date.now() + 3 * 60 * 60 * 1000;
    // An HLC's counter restarts at 0 each new millisecond: two edits a few ms apart differ only in ms.
    const at = (ms: number) => formatStamp({ ms, counter: 0, nodeId: 'nodeFast' });
    const created = createUpdate('nodeFast', { kind: 'need', title: 'First' });
    created.stamps = { kind: at(ahead), title: at(ahead) };
    const again = edit('nodeFast', created.entityId, { title: 'Second' }, { title: created.stamps.title });
    again.stamps = { title: at(ahead + 5) };
    const reply = await push(volunteer, [created, again]);
    expect(reply.body.results.map((r: { status: string }) => r.status)).toEqual(['applied', 'applied']);
    // The device is told what was stored, so its copy does not keep a stamp that outranks everyone.
    const [first, second] = reply.body.results as Array<{ stamps: Record<string, string> }>;
    expect(first!.stamps.title).not.toBe(second!.stamps.title);
    const { record } = (await volunteer.get(`/api/records/update/${created.entityId}`)).body;
    expect(record).toMatchObject({ fields: { title: 'Second' }, version: 2 });
    expect(record.stamps.title).toBe(second!.stamps.title);
    // A re-send is a duplicate that names the stored stamps again.
    const resent = await push(volunteer, [again]);
    expect(resent.body.results[0]).toMatchObject({ status: 'duplicate', stamps: second!.stamps });
  });
});

describe('merge and conflicts', () => {
  it('when two writers edit the same field from the same base, then the second push reports a conflict and both values are kept', async () => {
    const created = createUpdate('nodeA', { kind: 'need', title: 'Original' });
    await push(volunteer, [created]);
    const base = { title: created.stamps.title };
    const first = edit('nodeA', created.entityId, { title: 'From A' }, base);
    const second = edit(
      'nodeB',
      created.entityId,
      { title: 'From B', body: 'details from B' },
      { ...base, body: null },
    );
    const r1 = await push(volunteer, [first]);
    expect(r1.body.results[0]).toMatchObject({ status: 'applied', version: 2 });
    const r2 = await push(coordinator, [second]);
    expect(r2.body.results[0].status).toBe('merged'); // body applied cleanly, title conflicted
    expect(r2.body.results[0].version).toBe(3);
    const [conflictId] = r2.body.results[0].conflictIds;
    expect(conflictId).toMatch(/^[0-9a-f-]{36}$/);

    const record = (await volunteer.get(`/api/records/update/${created.entityId}`)).body.record;
    expect(record.fields.title).toBe('From B'); // higher stamp wins
    expect(record.fields.body).toBe('details from B');

    const conflicts = (await coordinator.get('/api/conflicts?status=open')).body.conflicts;
    const found = conflicts.find((c: { id: string }) => c.id === conflictId);
    expect(found).toMatchObject({ entityType: 'update', entityId: created.entityId, field: 'title', status: 'open' });
    expect(found.values.map((v: { value: unknown }) => v.value).sort()).toEqual(['From A', 'From B']);
    expect(found.values.map((v: { changeId: string }) => v.changeId).sort()).toEqual(
      [first.changeId, second.changeId].sort(),
    );
    expect(found.values.map((v: { author: string }) => v.author).sort()).toEqual(
      [seeded.volunteer.user.id, seeded.coordinator.user.id].sort(),
    );
    // The conflict syncs like any record.
    const conflictRecord = (await volunteer.get(`/api/records/conflict/${conflictId}`)).body.record;
    expect(conflictRecord.fields.status).toBe('open');
    const status = await coordinator.get('/api/sync/status');
    expect(status.body.pendingConflicts).toBeGreaterThanOrEqual(1);

    // Volunteers may not resolve; coordinators may.
    expect((await volunteer.post(`/api/conflicts/${conflictId}/resolve`, { value: 'x' })).status).toBe(403);
    const resolved = await coordinator.post(`/api/conflicts/${conflictId}/resolve`, { value: 'Agreed title' });
    expect(resolved.status).toBe(200);
    expect(resolved.body.conflict).toMatchObject({
      id: conflictId,
      status: 'resolved',
      resolvedBy: seeded.coordinator.user.id,
    });
    expect(resolved.body.record.fields.title).toBe('Agreed title');
    const again = await coordinator.post(`/api/conflicts/${conflictId}/resolve`, { value: 'Other' });
    expect(again.status).toBe(409);
    expect(
      (await coordinator.get('/api/conflicts?status=open')).body.conflicts.map((c: { id: string }) => c.id),
    ).not.toContain(conflictId);
  });

  it('when the same two changes arrive in the other order, then the record ends the same and the conflict has the same id', async () => {
    const created = createUpdate('nodeA', { kind: 'need', title: 'Original' });
    await push(volunteer, [created]);
    const base = { title: created.stamps.title };
    const a = edit('nodeA', created.entityId, { title: 'A' }, base);
    const b = edit('nodeB', created.entityId, { title: 'B' }, base);
    const forward = (await push(volunteer, [b])).body.results[0];
    const reverse = (await push(volunteer, [a])).body.results[0];
    expect(forward.status).toBe('applied');
    expect(reverse.status).toBe('conflict');
    const record = (await volunteer.get(`/api/records/update/${created.entityId}`)).body.record;
    expect(record.fields.title).toBe('B'); // b has the higher stamp though it arrived first
    const conflict = (await volunteer.get(`/api/records/conflict/${reverse.conflictIds[0]}`)).body.record;
    expect(conflict.fields.values.map((v: { value: string }) => v.value)).toEqual(['A', 'B']);
  });

  it('when a writer saw the current value, then there is no conflict', async () => {
    const created = createUpdate('nodeA');
    await push(volunteer, [created]);
    const e1 = edit('nodeA', created.entityId, { title: 'one' }, { title: created.stamps.title });
    const e2 = edit('nodeB', created.entityId, { title: 'two' }, { title: e1.stamps.title });
    expect((await push(volunteer, [e1, e2])).body.results.map((r: { status: string }) => r.status)).toEqual([
      'applied',
      'applied',
    ]);
  });

  it('when a concurrent edit with an older stamp arrives second, then it loses but is kept in a conflict', async () => {
    const created = createUpdate('nodeA');
    const past = Date.now() - 60_000;
    created.stamps = { kind: stamp('nodeA', past), title: stamp('nodeA', past) };
    await push(volunteer, [created]);
    const newer = edit('nodeB', created.entityId, { status: 'resolved' }, { status: created.stamps.title });
    const older = { ...edit('nodeA', created.entityId, { status: 'in_progress' }, { status: created.stamps.title }) };
    older.stamps = { status: stamp('nodeA', Number(newer.stamps.status.slice(0, 15)) - 1000) };
    await push(volunteer, [newer]);
    const result = (await push(volunteer, [older])).body.results[0];
    expect(result.status).toBe('conflict');
    expect((await volunteer.get(`/api/records/update/${created.entityId}`)).body.record.fields.status).toBe('resolved');
  });

  it('when a record is deleted, then it is a tombstone that pulls carry; delete against a concurrent edit is a conflict', async () => {
    const created = createUpdate('nodeA');
    await push(volunteer, [created]);
    const plainDelete = remove('nodeA', created.entityId, {
      deletedAt: null,
      kind: created.stamps.kind,
      title: created.stamps.title,
    });
    expect((await push(volunteer, [plainDelete])).body.results[0].status).toBe('applied');
    const tomb = (await volunteer.get(`/api/records/update/${created.entityId}`)).body.record;
    expect(tomb.deletedAt).not.toBeNull();
    expect(tomb.stamps.deletedAt).toBe(plainDelete.stamps.deletedAt);

    const other = createUpdate('nodeA');
    await push(volunteer, [other]);
    const concurrentEdit = edit('nodeB', other.entityId, { title: 'edited meanwhile' }, { title: other.stamps.title });
    await push(coordinator, [concurrentEdit]);
    const staleDelete = remove('nodeA', other.entityId, {
      deletedAt: null,
      kind: other.stamps.kind,
      title: other.stamps.title,
    });
    const result = (await push(volunteer, [staleDelete])).body.results[0];
    expect(result.status).toBe('conflict');
    const conflict = (await coordinator.get(`/api/records/conflict/${result.conflictIds[0]}`)).body.record;
    expect(conflict.fields.field).toBe('deletedAt');
    // Restore: the edit is still in the record's fields.
    const restored = await coordinator.post(`/api/conflicts/${result.conflictIds[0]}/resolve`, { deleted: false });
    expect(restored.status).toBe(200);
    expect(restored.body.record.deletedAt).toBeNull();
    expect(restored.body.record.fields.title).toBe('edited meanwhile');
  });

  it('when a resolution value is invalid for the field, then 400 and the conflict stays open', async () => {
    const created = createUpdate('nodeA');
    await push(volunteer, [created]);
    const base = { priority: null };
    await push(volunteer, [edit('nodeA', created.entityId, { priority: 'high' }, base)]);
    const r = (await push(volunteer, [edit('nodeB', created.entityId, { priority: 'low' }, base)])).body.results[0];
    const id = r.conflictIds[0];
    const bad = await coordinator.post(`/api/conflicts/${id}/resolve`, { value: 'apocalyptic' });
    expect(bad.status).toBe(400);
    expect((await coordinator.get(`/api/records/conflict/${id}`)).body.record.fields.status).toBe('open');
    expect((await coordinator.post(`/api/conflicts/${randomUUID()}/resolve`, { value: 'low' })).status).toBe(404);
    expect((await coordinator.post(`/api/conflicts/${id}/resolve`, { nonsense: true })).status).toBe(400);
  });
});

describe('pull', () => {
  it('when pulling in pages, then every record comes once, compacted, oldest first, until hasMore is false', async () => {
    const fresh = (await pullAll(volunteer)).cursor;
    const created = Array.from({ length: 25 }, (_, i) => createUpdate('nodeP', { kind: 'offer', title: `offer ${i}` }));
    await push(volunteer, created);
    // Edit some twice: pull still shows each entity once, in its current state.
    const edits = created
      .slice(0, 5)
      .map((c) => edit('nodeP', c.entityId, { title: `${c.fields.title} (edited)` }, { title: c.stamps.title }));
    await push(volunteer, edits);
    const { records } = await pullAll(volunteer, fresh, 7);
    const ids = records.map((r) => r.entityId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(25);
    expect(records.slice(-5).map((r) => r.fields.title)).toEqual(
      created.slice(0, 5).map((c) => `${c.fields.title} (edited)`),
    );
    for (const record of records) {
      expect(Object.keys(record).sort()).toEqual([
        'deletedAt',
        'entityId',
        'entityType',
        'fields',
        'stamps',
        'updatedAt',
        'version',
      ]);
    }
  });

  it('when caught up, then pulling again returns nothing and the same position', async () => {
    const { cursor } = await pullAll(volunteer);
    const again = await volunteer.post('/api/sync/pull', { clientId: 'p', cursor });
    expect(again.body).toMatchObject({ records: [], hasMore: false });
    expect(typeof again.body.cursor).toBe('string');
  });

  it('when the cursor is from another server, then 409 cursor_mismatch; when garbage, then 400', async () => {
    const other = Buffer.from(JSON.stringify({ v: 1, s: randomUUID(), t: '1', q: 1 })).toString('base64url');
    const mismatch = await volunteer.post('/api/sync/pull', { clientId: 'p', cursor: other });
    expect(mismatch.status).toBe(409);
    expect(mismatch.body.error.code).toBe('cursor_mismatch');
    for (const cursor of ['garbage', '', 'eyJ2IjoxfQ', 42]) {
      const reply = await volunteer.post('/api/sync/pull', { clientId: 'p', cursor });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toMatch(/^invalid_/);
    }
  });

  it('when limit is outside 1..5000 or not an integer, then 400', async () => {
    for (const limit of [0, 5001, 1.5, '10', -1]) {
      const reply = await volunteer.post('/api/sync/pull', { clientId: 'p', cursor: null, limit });
      expect(reply.status).toBe(400);
    }
    expect((await volunteer.post('/api/sync/pull', { clientId: 'p', cursor: null, limit: 5000 })).status).toBe(200);
  });

  it('when members pull users, then password hashes never leave the server', async () => {
    const { records } = await pullAll(seeded.admin);
    const users = records.filter((r) => r.entityType === 'user');
    expect(users.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(users)).not.toMatch(/passwordHash|scrypt/);
  });
});

describe('history', () => {
  it('when a record was created and edited, then its history lists both changes with their authors, oldest first', async () => {
    const created = createUpdate('nodeH', { kind: 'need', title: 'First' });
    await push(volunteer, [created]);
    await push(coordinator, [edit('nodeH2', created.entityId, { title: 'Second' }, { title: created.stamps.title })]);
    const { status, body } = await volunteer.get(`/api/records/update/${created.entityId}/history`);
    expect(status).toBe(200);
    expect(body.history.map((h: { fields: { title: string } }) => h.fields.title)).toEqual(['First', 'Second']);
    expect(body.history.map((h: { authorName: string }) => h.authorName)).toEqual(['Victor', 'Cora']);
    expect((await volunteer.get(`/api/records/update/${randomUUID()}/history`)).status).toBe(404);
  });
});

describe('export and status', () => {
  it('when an admin exports, then every record comes as NDJSON; volunteers may not', async () => {
    const response = await fetch(`${server.url}/api/sync/export`, { headers: { cookie: seeded.admin.sessionCookie! } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const pulled = (await pullAll(seeded.admin)).records;
    expect(lines.length).toBe(pulled.length);
    expect((await volunteer.get('/api/sync/export')).status).toBe(403);
  });

  it('when asked for status, then it names the server and mode', async () => {
    const status = (await volunteer.get('/api/sync/status')).body;
    expect(status).toMatchObject({ serverId: expect.any(String), mode: 'cloud', pendingConflicts: expect.any(Number) });
  });
});
