/**
 * Whole-change validation: a change is accepted entirely or rejected with one
 * reason, before anything of it touches storage.
 */
import {
  changeSchema,
  isoTimeSchema,
  DELETED_AT,
  FIELD_SCHEMAS,
  isEntityType,
  roleAtLeast,
  SERVER_SET_FIELDS,
  type ApiErrorBody,
  type Change,
  type EntityType,
  type Role,
} from './contract';
import { isStamp } from './hlc';

/** A member acting through the browser, or a hub forwarding its members' changes. */
export type Writer = { kind: 'user'; role: Role } | { kind: 'hub' };

export type ValidationResult =
  | {
      ok: true;
      change: Change;
      /** Server-set fields the change carried: dropped, the server's values stand (never a reason to reject). */
      ignoredFields: string[];
    }
  | { ok: false; changeId: string | null; error: ApiErrorBody };

function reject(raw: unknown, code: string, message: string): ValidationResult {
  const changeId =
    typeof raw === 'object' && raw !== null && typeof (raw as { changeId?: unknown }).changeId === 'string'
      ? (raw as { changeId: string }).changeId
      : null;
  return { ok: false, changeId, error: { code, message } };
}

function mayWrite(writer: Writer, entityType: EntityType): string | null {
  // A hub forwards what was accepted there: its members' edits, its admins' account changes, its conflicts.
  if (writer.kind === 'hub') return null;
  switch (entityType) {
    case 'update':
      return null;
    case 'document':
      return roleAtLeast(writer.role, 'coordinator') ? null : 'only coordinators and admins may edit documents';
    case 'conflict':
      return 'conflicts are written by servers and resolved through /api/conflicts/:id/resolve';
    case 'user':
      return 'user records are managed through /api/users';
  }
}

/** JSON.parse makes "__proto__" an own key; copying it anywhere would swap an object's prototype. */
function hasProtoKey(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const maps = ['fields', 'stamps', 'base'].map((name) => (raw as Record<string, unknown>)[name]);
  return [raw, ...maps].some((map) => typeof map === 'object' && map !== null && Object.hasOwn(map, '__proto__'));
}

const CHANGE_KEYS = new Set(Object.keys(changeSchema.shape));
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isShortString = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max;

/**
 * What `changeSchema` accepts, checked by hand for the usual well-formed
 * change (a schema library walking every key costs more than the merge).
 * Accepts only what the schema accepts; anything else returns null and goes
 * to the schema, which also words the error.
 */
export function wellFormedChange(raw: unknown): Change | null {
  if (!isMap(raw)) return null;
  for (const key of Object.keys(raw)) if (!CHANGE_KEYS.has(key)) return null;
  const { changeId, entityType, entityId, op, fields, stamps, base, clientTime, author, origin } = raw;
  if (typeof changeId !== 'string' || !UUID_PATTERN.test(changeId)) return null;
  if (typeof entityId !== 'string' || !UUID_PATTERN.test(entityId)) return null;
  if (!isShortString(entityType, 1, 32) || (op !== 'upsert' && op !== 'delete')) return null;
  if (!isMap(stamps) || (fields !== undefined && !isMap(fields)) || (base !== undefined && !isMap(base))) return null;
  if (author !== undefined && !isShortString(author, 0, 100)) return null;
  if (origin !== undefined && !isShortString(origin, 0, 100)) return null;
  if (typeof clientTime !== 'string' || !isoTimeSchema.safeParse(clientTime).success) return null;
  const change: Change = {
    changeId: changeId.toLowerCase(),
    entityType,
    entityId: entityId.toLowerCase(),
    op,
    stamps: { ...(stamps as Record<string, string>) },
    clientTime,
  };
  if (fields !== undefined) change.fields = { ...fields };
  if (base !== undefined) change.base = { ...(base as Record<string, string | null>) };
  if (author !== undefined) change.author = author;
  if (origin !== undefined) change.origin = origin;
  return change;
}

function parseChange(raw: unknown): { change: Change } | { message: string } {
  const fast = wellFormedChange(raw);
  if (fast) return { change: fast };
  const parsed = changeSchema.safeParse(raw);
  if (parsed.success) return { change: parsed.data as Change };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { message: `${where}${issue?.message ?? 'not a valid change'}` };
}

export function validateChange(raw: unknown, writer: Writer): ValidationResult {
  if (hasProtoKey(raw)) return reject(raw, 'unknown_field', 'field name "__proto__" is not allowed');
  const parsed = parseChange(raw);
  if ('message' in parsed) return reject(raw, 'invalid_change', parsed.message);
  const change = parsed.change;
  if (!isEntityType(change.entityType)) {
    return reject(raw, 'unknown_entity_type', `unknown entity type "${change.entityType}"`);
  }
  const forbidden = mayWrite(writer, change.entityType);
  if (forbidden) return reject(raw, 'forbidden', forbidden);
  if (writer.kind !== 'hub' && (change.author !== undefined || change.origin !== undefined)) {
    return reject(raw, 'forbidden', 'only hubs may forward changes on behalf of others');
  }

  const fields = change.fields ?? {};
  if (change.op === 'delete' && Object.keys(fields).length > 0) {
    return reject(raw, 'invalid_change', 'a delete writes no fields');
  }
  if (change.op === 'upsert' && Object.keys(fields).length === 0) {
    return reject(raw, 'invalid_change', 'an upsert must write at least one field');
  }
  const ignoredFields = change.op === 'upsert' ? dropServerSetFields(change) : [];
  const written = change.op === 'delete' ? [DELETED_AT] : Object.keys(fields);

  const schemas = FIELD_SCHEMAS[change.entityType];
  for (const field of written) {
    if (field === DELETED_AT) {
      const value = change.op === 'delete' ? null : fields[field];
      if (value !== null && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
        return reject(raw, 'invalid_field', 'deletedAt: must be null or an ISO time');
      }
    } else {
      // Own keys only: "__proto__" or "constructor" must not find Object.prototype's members.
      const schema = Object.hasOwn(schemas, field) ? schemas[field] : undefined;
      if (!schema) return reject(raw, 'unknown_field', `${change.entityType} has no field "${field}"`);
      const result = schema.safeParse(fields[field]);
      if (!result.success) {
        return reject(raw, 'invalid_field', `${field}: ${result.error.issues[0]?.message ?? 'invalid value'}`);
      }
      fields[field] = result.data;
    }
    if (!Object.hasOwn(change.stamps, field)) {
      return reject(raw, 'missing_stamp', `no stamp for written field "${field}"`);
    }
  }

  for (const [field, stamp] of Object.entries(change.stamps)) {
    if (!written.includes(field)) return reject(raw, 'invalid_change', `stamp for a field not written: "${field}"`);
    if (!isStamp(stamp)) return reject(raw, 'invalid_stamp', `stamps.${field}: not an HLC stamp`);
  }
  for (const [field, base] of Object.entries(change.base ?? {})) {
    if (base !== null && !isStamp(base)) return reject(raw, 'invalid_stamp', `base.${field}: not an HLC stamp or null`);
  }
  return { ok: true, change, ignoredFields };
}

/**
 * createdBy and createdAt are the server's to set (from the writer and the
 * create stamp). A client that sends the whole record (an import, an older
 * app) loses nothing for it: those fields are dropped with their stamps.
 */
function dropServerSetFields(change: Change): string[] {
  const ignored: string[] = [];
  for (const field of SERVER_SET_FIELDS) {
    if (!change.fields || !Object.hasOwn(change.fields, field)) continue;
    ignored.push(field);
    delete change.fields[field];
    delete change.stamps[field];
    if (change.base) delete change.base[field];
  }
  return ignored;
}
