import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '$lib/api/endpoints';
import type { OutboxEntry } from '$lib/db';
import { buildServerHistory } from './history';

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

function entry(partial: Partial<HistoryEntry>): HistoryEntry {
  return {
    changeId: crypto.randomUUID(),
    op: 'upsert',
    fields: {},
    author: ALICE,
    authorName: 'Alice',
    origin: 'server-1',
    clientTime: '2024-05-01T10:00:00.000Z',
    receivedAt: '2024-05-01T10:00:01.000Z',
    status: 'applied',
    version: 1,
    ...partial,
  };
}

describe('buildServerHistory', () => {
  const names = new Map([[BOB, 'Bob (synced name)']]);

  it('lists every change newest first, with who made it and what it wrote', () => {
    const events = buildServerHistory(
      [
        entry({ fields: { kind: 'need', title: 'Water' } }),
        entry({
          fields: { title: 'Water at the hall', priority: 'high' },
          author: BOB,
          authorName: 'Bob',
          clientTime: '2024-05-01T11:00:00.000Z',
          receivedAt: '2024-05-01T11:00:01.000Z',
          version: 2,
        }),
        entry({ op: 'delete', fields: null, clientTime: '2024-05-01T12:00:00.000Z', version: 3 }),
      ],
      [],
      names,
    );
    expect(events.map((e) => [e.kind, e.what, e.who])).toEqual([
      ['deleted', 'Deleted', 'Alice'],
      ['field', 'Changed title, priority', 'Bob'],
      ['created', 'Created', 'Alice'],
    ]);
    expect(events[1]!.detail).toBe('title: Water at the hall\npriority: high');
    expect(events[1]!.at).toBe('2024-05-01T11:00:00.000Z');
  });

  it('falls back to synced names, says when an offline edit arrived late, and marks conflicting writes', () => {
    const [event] = buildServerHistory(
      [
        entry({
          fields: { status: 'resolved' },
          author: BOB,
          authorName: null,
          clientTime: '2024-05-01T08:00:00.000Z',
          receivedAt: '2024-05-01T14:00:00.000Z',
          status: 'conflict',
          version: 4,
        }),
      ],
      [],
      names,
    );
    expect(event!.who).toBe('Bob (synced name)');
    expect(event!.what).toBe('Changed status');
    expect(event!.detail).toContain('status: resolved');
    expect(event!.detail).toContain('made offline, received');
    expect(event!.detail).toContain('both values kept for a coordinator');
  });

  it('calls a write of deletedAt = null a restore', () => {
    const events = buildServerHistory(
      [entry({ version: 1, fields: { title: 'x', kind: 'need' } }), entry({ fields: { deletedAt: null }, version: 3 })],
      [],
      names,
    );
    expect(events[0]!.what).toBe('Restored');
  });

  it("puts this device's unsent changes on top", () => {
    const pending: OutboxEntry[] = [
      {
        seq: 1,
        userId: BOB,
        change: {
          changeId: crypto.randomUUID(),
          entityType: 'update',
          entityId: crypto.randomUUID(),
          op: 'upsert',
          fields: { body: 'More details' },
          stamps: {},
          base: {},
          clientTime: '2024-05-02T09:00:00.000Z',
        },
      },
    ];
    const events = buildServerHistory([entry({ fields: { title: 'Water', kind: 'need' } })], pending, names);
    expect(events.map((e) => e.kind)).toEqual(['pending', 'created']);
    expect(events[0]!.what).toBe('Changed body on this device (not sent yet)');
  });
});
