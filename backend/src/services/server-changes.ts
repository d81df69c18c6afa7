/** Changes this server writes itself (resolutions, account changes), stamped with its own clock. */
import { newId, type Change, type RecordState } from '@lifeline/core';
import type { ServerContext } from '../context';

/** Stamps of every field of a record: a server change "that saw everything" uses them as its base. */
export function seenEverything(record: RecordState | null): Record<string, string | null> {
  return record ? { ...record.stamps } : {};
}

/**
 * A change that saw `base`. Its stamp is taken after folding every base
 * stamp into the clock, so it sorts above what it saw even when this
 * process restarted with its wall clock behind stamps it issued before.
 */
export function serverChange(
  ctx: ServerContext,
  target: { entityType: string; entityId: string },
  write: { op: 'upsert'; fields: Record<string, unknown> } | { op: 'delete' },
  base: Record<string, string | null>,
): Change {
  for (const seen of Object.values(base)) if (seen) ctx.clock.receive(seen);
  const written = write.op === 'delete' ? ['deletedAt'] : Object.keys(write.fields);
  const stamp = ctx.clock.now();
  return {
    changeId: newId(),
    entityType: target.entityType,
    entityId: target.entityId,
    op: write.op,
    ...(write.op === 'upsert' ? { fields: write.fields } : {}),
    stamps: Object.fromEntries(written.map((field) => [field, stamp])),
    base,
    clientTime: new Date().toISOString(),
  };
}
