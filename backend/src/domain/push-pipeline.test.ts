import { describe, expect, it } from 'vitest';
import { batchesToSendTogether } from './push-pipeline';

const queued = (...ids: string[]) => ids.map((entityId) => ({ change: { entityType: 'update', entityId } }));

describe('batchesToSendTogether', () => {
  it('sends two batches at once when they touch different entities', () => {
    const batches = batchesToSendTogether(queued('a', 'b', 'c', 'd'), 2);
    expect(batches.map((batch) => batch.map((q) => q.change.entityId))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('holds the second back when it touches an entity of the first (order per entity)', () => {
    expect(batchesToSendTogether(queued('a', 'b', 'c', 'a'), 2)).toHaveLength(1);
  });

  it('tells entity types apart, and sends what there is', () => {
    const mixed = [
      { change: { entityType: 'update', entityId: 'x' } },
      { change: { entityType: 'document', entityId: 'x' } },
    ];
    expect(batchesToSendTogether(mixed, 1)).toHaveLength(2);
    expect(batchesToSendTogether(queued('a'), 2)).toEqual([queued('a')]);
    expect(batchesToSendTogether([], 2)).toEqual([[]]);
  });
});
