import { describe, expect, it } from 'vitest';
import type { Change, SyncRecord } from '@lifeline/core';
import { applyChange, overlayAll, overlayRecord } from './overlay';

const stamp = (ms: number, node = 'n1') => `${String(ms).padStart(15, '0')}:00000:${node}`;
const id = '11111111-1111-4111-8111-111111111111';

function serverRecord(fields: Record<string, unknown>, at: number): SyncRecord {
  return {
    entityType: 'update',
    entityId: id,
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((f) => [f, stamp(at, 'srv')])),
    version: 1,
    deletedAt: null,
    updatedAt: new Date(at).toISOString(),
  };
}

function upsert(fields: Record<string, unknown>, at: number, base: Record<string, string | null> = {}): Change {
  return {
    changeId: crypto.randomUUID(),
    entityType: 'update',
    entityId: id,
    op: 'upsert',
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((f) => [f, stamp(at)])),
    base,
    clientTime: new Date(at).toISOString(),
  };
}

describe('overlay of pending changes on server state', () => {
  it('shows a pending create with the server defaults and the creator, marked local-only', () => {
    const view = overlayRecord(undefined, [{ change: upsert({ kind: 'need', title: 'Water' }, 1000), userId: 'u1' }]);
    expect(view).toMatchObject({
      localOnly: true,
      deletedAt: null,
      fields: { kind: 'need', title: 'Water', priority: 'normal', status: 'open', body: '', tags: [], createdBy: 'u1' },
    });
    expect(view!.fields.createdAt).toBe(new Date(1000).toISOString());
    expect(view!.pendingFields.sort()).toEqual(['kind', 'title']);
  });

  it('lays a newer pending edit over the server value and leaves other fields alone', () => {
    const server = serverRecord({ title: 'Old', body: 'kept' }, 1000);
    const view = overlayRecord(server, [{ change: upsert({ title: 'New' }, 2000), userId: null }]);
    expect(view!.fields).toEqual({ title: 'New', body: 'kept' });
    expect(view!.stamps.title).toBe(stamp(2000));
    expect(view!.pendingFields).toEqual(['title']);
    expect(view!.localOnly).toBe(false);
  });

  it('keeps the server value when it already carries a higher stamp, as every replica will', () => {
    const server = serverRecord({ title: 'Newer on server' }, 5000);
    const view = overlayRecord(server, [{ change: upsert({ title: 'Older local' }, 2000), userId: null }]);
    expect(view!.fields.title).toBe('Newer on server');
  });

  it('applies several pending edits in outbox order', () => {
    const view = overlayRecord(serverRecord({ title: 'A' }, 1000), [
      { change: upsert({ title: 'B' }, 2000), userId: null },
      { change: upsert({ title: 'C', status: 'resolved' }, 3000), userId: null },
    ]);
    expect(view!.fields).toMatchObject({ title: 'C', status: 'resolved' });
  });

  it('hides a record with a pending delete from lists but still returns it by id', () => {
    const del: Change = {
      changeId: crypto.randomUUID(),
      entityType: 'update',
      entityId: id,
      op: 'delete',
      stamps: { deletedAt: stamp(3000) },
      base: { deletedAt: null },
      clientTime: new Date(3000).toISOString(),
    };
    const server = serverRecord({ title: 'Gone soon' }, 1000);
    expect(overlayAll([server], [{ change: del, userId: null }], 'update')).toEqual([]);
    expect(overlayRecord(server, [{ change: del, userId: null }])!.deletedAt).toBe(new Date(3000).toISOString());
  });

  it('lists server records and local-only creates together, only of the asked type', () => {
    const otherId = '22222222-2222-4222-8222-222222222222';
    const create = { ...upsert({ kind: 'offer', title: 'Tent' }, 2000), entityId: otherId };
    const doc = { ...upsert({ title: 'Guide' }, 2000), entityType: 'document', entityId: otherId };
    const views = overlayAll(
      [serverRecord({ kind: 'need', title: 'Synced' }, 1000)],
      [
        { change: create, userId: null },
        { change: doc, userId: null },
      ],
      'update',
    );
    expect(views.map((v) => v.fields.title).sort()).toEqual(['Synced', 'Tent']);
  });

  it('leaves out a record an edit reached before its create did (no kind or title yet)', () => {
    const early = {
      ...serverRecord({ status: 'in_progress' }, 1000),
      entityId: '33333333-3333-4333-8333-333333333333',
    };
    const views = overlayAll([early, serverRecord({ kind: 'need', title: 'Whole' }, 1000)], [], 'update');
    expect(views.map((v) => v.fields.title)).toEqual(['Whole']);
  });

  it('applyChange never mutates the record it is given', () => {
    const server = serverRecord({ title: 'Same' }, 1000);
    const copy = structuredClone(server);
    applyChange(server, upsert({ title: 'Other' }, 2000), null);
    expect(server).toEqual(copy);
  });
});
