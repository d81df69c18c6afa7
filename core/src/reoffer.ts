/**
 * What a replica holds of a record, offered again to a server that may have
 * lost it (restored from a backup): the PWA after its re-pull
 * (frontend/src/lib/sync/repull.ts), and a hub after its own
 * (backend/src/upstream/repull.ts).
 */
import { DELETED_AT, REQUIRED_ON_CREATE, SERVER_SET_FIELDS, type Change, type SyncRecord } from './contract';
import { compareStamps } from './hlc';
import { cloneJson } from './clone-json';
import { newId } from './ids';

/**
 * The fields `local` holds under a newer stamp than the server's copy
 * `remote`, each with the server's stamp (null where it has none): the
 * `behind` that `reofferChanges` takes.
 */
export function fieldsHeldNewer(
  local: { stamps: Record<string, string> } | null,
  remote: { stamps: Record<string, string> },
): Record<string, string | null> {
  const behind: Record<string, string | null> = {};
  for (const [field, stamp] of Object.entries(local?.stamps ?? {})) {
    const theirs = remote.stamps[field];
    if (compareStamps(stamp, theirs) > 0) behind[field] = theirs ?? null;
  }
  return behind;
}

/**
 * Each field goes under the stamp it has here, never a new one, so a server
 * that still has a value finds nothing new in it. `behind` names the fields
 * the server's copy lacks or holds older, with the server's stamp as each
 * one's base (the writer saw it, so no conflict); null when the server has no
 * copy at all: then every field goes, with no base, and the server takes it
 * as the record's create. A tombstone goes as the same, then a delete that
 * saw every field. createdBy and createdAt are the server's to set (from the
 * change's author, where the sender may name one). No change when nothing is
 * missing.
 */
export function reofferChanges(
  record: SyncRecord,
  behind: Record<string, string | null> | null,
  clientTime: string,
): Change[] {
  const missing = (field: string) => behind === null || Object.hasOwn(behind, field);
  const baseOf = (field: string) => behind?.[field] ?? null;
  const serverSet: readonly string[] = SERVER_SET_FIELDS;
  const names = Object.keys(record.stamps).filter(
    (field) =>
      missing(field) &&
      !serverSet.includes(field) &&
      (field === DELETED_AT ? record.deletedAt === null : Object.hasOwn(record.fields, field)),
  );
  const changes: Change[] = [];
  const target = { entityType: record.entityType, entityId: record.entityId };
  // A create without its required fields would be refused (a record this replica only ever saw incomplete).
  const complete = behind !== null || REQUIRED_ON_CREATE[record.entityType].every((field) => names.includes(field));
  if (names.length > 0 && complete) {
    changes.push({
      changeId: newId(),
      ...target,
      op: 'upsert',
      fields: cloneJson(
        Object.fromEntries(names.map((field) => [field, field === DELETED_AT ? null : record.fields[field]])),
      ),
      stamps: Object.fromEntries(names.map((field) => [field, record.stamps[field]!])),
      base: Object.fromEntries(names.map((field) => [field, baseOf(field)])),
      clientTime,
    });
  }
  const deletedStamp = record.stamps[DELETED_AT];
  if (record.deletedAt !== null && deletedStamp && missing(DELETED_AT)) {
    const base: Record<string, string | null> = {};
    for (const [field, stamp] of Object.entries(record.stamps)) base[field] = stamp ?? null;
    base[DELETED_AT] = baseOf(DELETED_AT);
    changes.push({
      changeId: newId(),
      ...target,
      op: 'delete',
      stamps: { [DELETED_AT]: deletedStamp },
      base,
      clientTime,
    });
  }
  return changes;
}
