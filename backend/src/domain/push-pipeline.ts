/**
 * How many of a hub's queued batches may be in flight to the cloud at once.
 * Two pushes the cloud processes at the same time may apply in either
 * order, so they must touch no entity in common: an entity's changes must
 * arrive in the order they were taken (a later edit overtaking the one it
 * saw would look concurrent and become a spurious conflict). After an
 * outage the queue is mostly creates of distinct records, and two batches
 * at once keep both the cloud's JavaScript and its Postgres busy.
 */
export interface QueuedEntity {
  change: { entityType: string; entityId: string };
}

/** The next batches to send together, oldest first: the first always, the second only if it is disjoint. */
export function batchesToSendTogether<T extends QueuedEntity>(queued: T[], batchSize: number): T[][] {
  const first = queued.slice(0, batchSize);
  const second = queued.slice(batchSize, 2 * batchSize);
  if (second.length === 0) return [first];
  const key = ({ change }: QueuedEntity) => `${change.entityType}/${change.entityId}`;
  const inFirst = new Set(first.map(key));
  return second.some((queuedChange) => inFirst.has(key(queuedChange))) ? [first] : [first, second];
}
