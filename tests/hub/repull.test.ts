/**
 * What a hub offers a restored cloud at the end of its re-pull, on real
 * Postgres: records it only pulled go back (whole when the cloud lost them,
 * only the newer fields when it holds an older copy), fields its own log
 * already sends again are left to the log, and what the cloud holds as it is
 * goes nowhere. The end-to-end restore is in tests/scale/restore.test.ts.
 */
import { mergeChange, validateChange, type Change, type RecordState } from '@lifeline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingUpstream } from '../../backend/src/db/upstream';
import { beginRepull, repullUnderWay } from '../../backend/src/db/upstream-repull';
import { mergeRemoteRecords, type RemoteRecord } from '../../backend/src/services/merge-remote';
import { offerWhatTheCloudLacks } from '../../backend/src/upstream/repull';
import { createUpdate, edit, seedCommunity } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

const CLOUD_MEMBER = '0190aaaa-0000-7000-8000-00000000c10d';

/** A record as the cloud holds it after `changes`, written by one of its own members. */
function cloudState(changes: Change[]): RecordState {
  let state: RecordState | null = null;
  for (const change of changes) {
    const outcome = mergeChange(state, change, {
      author: CLOUD_MEMBER,
      origin: 'cloud',
      nowMs: Date.now(),
      clampFutureStamps: true,
    });
    if (!outcome.ok) throw new Error(outcome.message);
    state = outcome.record;
  }
  return state!;
}

const wire = (state: RecordState): RemoteRecord => ({ ...state, updatedAt: new Date().toISOString() });

describe('a hub at the end of its re-pull from a restored cloud', () => {
  let server: TestServer;
  let communityId: string;
  const offered = new Map<string, Change[]>();
  let conflictId = '';

  // Pulled only: P lost by the cloud, Q held older there, S held as it is. Made here: A lost, B held older.
  const pCreate = createUpdate('cloudDevice', { kind: 'need', title: 'Pulled, lost by the cloud' });
  const qCreate = createUpdate('cloudDevice', { kind: 'offer', title: 'Pulled, held older' });
  const qEdit = edit(
    'cloudDevice',
    qCreate.entityId,
    { title: 'Pulled, edited after the backup' },
    {
      title: qCreate.stamps.title,
    },
  );
  const sCreate = createUpdate('cloudDevice', { kind: 'need', title: 'Pulled, held as it is' });
  const aCreate = createUpdate('hubDevice', { kind: 'need', title: 'Made here, lost by the cloud' });
  const bCreate = createUpdate('hubDevice', { kind: 'offer', title: 'Made here, held older' });
  const bEdit = edit(
    'hubDevice',
    bCreate.entityId,
    { title: 'Made here, edited after the backup' },
    {
      title: bCreate.stamps.title,
    },
  );

  beforeAll(async () => {
    server = await startTestServer();
    const seeded = await seedCommunity(server.url);
    communityId = seeded.adminUser.communityId;
    const { ctx } = server.server;

    // Before the restore: what the hub pulled, and what its members wrote here (in its log).
    await ctx.db.transaction((tx) =>
      mergeRemoteRecords(ctx, tx, communityId, [
        wire(cloudState([pCreate])),
        wire(cloudState([qCreate, qEdit])),
        wire(cloudState([sCreate])),
      ]),
    );
    const push = (changes: Change[]) =>
      seeded.volunteer.client.post('/api/sync/push', { clientId: 'hub-member', changes });
    expect((await push([aCreate, bCreate])).status).toBe(200);
    expect((await push([bEdit])).status).toBe(200);
    // Two members set B's status at once, having seen the same: a conflict record, found here.
    const statusBase = { status: bCreate.stamps.kind };
    expect((await push([edit('hubDevice', bCreate.entityId, { status: 'in_progress' }, statusBase)])).status).toBe(200);
    const other = await seeded.coordinator.client.post('/api/sync/push', {
      clientId: 'hub-coordinator',
      changes: [edit('hubDevice2', bCreate.entityId, { status: 'resolved' }, statusBase)],
    });
    expect(other.body.results[0].conflictIds).toHaveLength(1);
    conflictId = other.body.results[0].conflictIds[0];

    // The cloud refused the cursor; its re-pull sends back Q and B as the backup held them, and S.
    await ctx.db.transaction((tx) => beginRepull(tx, communityId));
    await ctx.db.transaction((tx) =>
      mergeRemoteRecords(
        ctx,
        tx,
        communityId,
        [wire(cloudState([qCreate])), wire(cloudState([bCreate])), wire(cloudState([sCreate]))],
        { repull: true },
      ),
    );
    await offerWhatTheCloudLacks(ctx, communityId);
    // This server runs as the cloud, so its members' pushes were not queued: the queue holds the offers alone.
    for (const { change } of await pendingUpstream(ctx.db, communityId, 100)) {
      offered.set(change.entityId, [...(offered.get(change.entityId) ?? []), change]);
    }
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('offers a record it only pulled, and the cloud lost, whole, under its stamps, by its creator', () => {
    const [offer, ...more] = offered.get(pCreate.entityId) ?? [];
    expect(more).toEqual([]);
    expect(offer).toMatchObject({
      op: 'upsert',
      fields: { kind: 'need', title: 'Pulled, lost by the cloud' },
      author: CLOUD_MEMBER,
    });
    expect(offer!.stamps.title).toBe(pCreate.stamps.title);
    expect(Object.values(offer!.base ?? {}).every((base) => base === null)).toBe(true);
    expect(offer!.fields).not.toHaveProperty('createdBy');
  });

  it('offers only the newer fields of a record the cloud holds older, having seen its copy', () => {
    const [offer, ...more] = offered.get(qCreate.entityId) ?? [];
    expect(more).toEqual([]);
    expect(offer!.fields).toEqual({ title: 'Pulled, edited after the backup' });
    expect(offer!.stamps).toEqual({ title: qEdit.stamps.title });
    expect(offer!.base).toEqual({ title: qCreate.stamps.title });
  });

  it('leaves to its own log what the log sends again, and offers nothing the cloud holds as it is', async () => {
    expect(offered.get(bCreate.entityId)).toBeUndefined();
    expect(offered.get(sCreate.entityId)).toBeUndefined();
    // Its own log is queued again separately (restartAgainstNewCloud); A goes whole, as the cloud lost it all.
    expect(offered.get(aCreate.entityId)?.map((change) => change.fields?.title)).toEqual([
      'Made here, lost by the cloud',
    ]);
    expect(await repullUnderWay(server.server.ctx.db)).toBe(false);
  });

  it('offers a conflict record the cloud lost as a write the cloud takes from a hub', () => {
    const [offer, ...more] = offered.get(conflictId) ?? [];
    expect(more).toEqual([]);
    expect(offer).toMatchObject({ entityType: 'conflict', op: 'upsert', fields: { status: 'open', field: 'status' } });
    expect(validateChange(offer, { kind: 'hub' }).ok).toBe(true);
  });
});
