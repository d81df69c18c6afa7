/**
 * "Who changed what" for one record, from what a replica actually has: the
 * creation fields, each field's last-write stamp, conflict records (both
 * sides with authors and times, and how they were resolved) and this
 * device's own unsent changes. The contract keeps no full edit log.
 */
import { DELETED_AT, type SyncRecord } from '@lifeline/core';
import type { HistoryEntry } from '$lib/api/endpoints';
import type { OutboxEntry } from '$lib/db';
import type { ViewRecord } from '$lib/sync/overlay';
import { stampDate } from '$lib/util/format';

export interface HistoryEvent {
  at: string | null;
  who: string | null;
  what: string;
  detail?: string;
  kind: 'created' | 'field' | 'conflict' | 'resolved' | 'pending' | 'deleted';
}

const HIDDEN = new Set(['createdAt', 'createdBy']);

export function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '(empty)';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    // Photos (the attachments field): a count, not their hashes.
    if (value.length > 0 && value.every((item) => typeof item === 'object' && item !== null && 'hash' in item)) {
      return `${value.length} photo${value.length === 1 ? '' : 's'}`;
    }
    return value.join(', ') || '(none)';
  }
  if (typeof value === 'object' && 'label' in (value as object)) {
    const loc = value as { label?: string; lat?: number; lon?: number };
    return [loc.label, loc.lat !== undefined ? `${loc.lat}, ${loc.lon ?? '?'}` : ''].filter(Boolean).join(' · ');
  }
  return JSON.stringify(value);
}

export function buildHistory(
  record: ViewRecord,
  conflicts: SyncRecord[],
  pending: OutboxEntry[],
  names: Map<string, string>,
): HistoryEvent[] {
  const name = (id: unknown) => (typeof id === 'string' ? (names.get(id) ?? 'someone') : 'someone');
  const events: HistoryEvent[] = [];
  const createdAt = typeof record.fields.createdAt === 'string' ? record.fields.createdAt : null;
  events.push({ kind: 'created', at: createdAt, who: name(record.fields.createdBy), what: 'Created' });

  const createStamp = record.stamps.createdAt;
  for (const [field, stamp] of Object.entries(record.stamps)) {
    if (HIDDEN.has(field) || stamp === createStamp || record.pendingFields.includes(field)) continue;
    if (field === DELETED_AT) {
      if (record.deletedAt) events.push({ kind: 'deleted', at: stampDate(stamp), who: null, what: 'Deleted' });
      continue;
    }
    events.push({
      kind: 'field',
      at: stampDate(stamp),
      who: null,
      what: `Changed ${field}`,
      detail: `now: ${show(record.fields[field])}`,
    });
  }

  for (const conflict of conflicts) {
    const f = conflict.fields;
    const values = (f.values as Array<{ value: unknown; author: string | null; clientTime: string | null }>) ?? [];
    for (const side of values) {
      events.push({
        kind: 'conflict',
        at: side.clientTime,
        who: name(side.author),
        what: `Wrote ${String(f.field)} at the same time as someone else`,
        detail: show(side.value),
      });
    }
    if (f.status === 'resolved') {
      events.push({
        kind: 'resolved',
        at: (f.resolvedAt as string | null) ?? null,
        who: name(f.resolvedBy),
        what: `Resolved the ${String(f.field)} conflict`,
        detail: show((f.resolution as { value?: unknown } | null)?.value),
      });
    }
  }

  events.push(...pendingEvents(pending, name));
  return events.sort((a, b) => ((a.at ?? '') < (b.at ?? '') ? 1 : -1));
}

function pendingEvents(pending: OutboxEntry[], name: (id: unknown) => string): HistoryEvent[] {
  return pending.map((entry) => {
    const fields = entry.change.op === 'delete' ? 'deletion' : Object.keys(entry.change.fields ?? {}).join(', ');
    return {
      kind: 'pending',
      at: entry.change.clientTime,
      who: name(entry.userId),
      what: `Changed ${fields} on this device (not sent yet)`,
    };
  });
}

const MINUTE = 60_000;

/**
 * The server's log of accepted changes (oldest first), newest first for the
 * screen, with this device's unsent changes on top. Each entry says who made
 * it, what it wrote, and when it was made; an edit made offline and received
 * much later says when it arrived too. Rejected and duplicate changes were
 * never logged; a change that lost a concurrent edit says its value was kept
 * in a conflict.
 */
export function buildServerHistory(
  entries: HistoryEntry[],
  pending: OutboxEntry[],
  names: Map<string, string>,
): HistoryEvent[] {
  const name = (id: unknown) => (typeof id === 'string' ? (names.get(id) ?? 'someone') : 'someone');
  const events: HistoryEvent[] = entries.map((entry, index) => {
    const who = entry.authorName ?? name(entry.author);
    const at = entry.clientTime ?? entry.receivedAt;
    const late =
      entry.clientTime && Date.parse(entry.receivedAt) - Date.parse(entry.clientTime) > 5 * MINUTE
        ? `made offline, received ${new Date(entry.receivedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`
        : null;
    const notes = [
      late,
      entry.status === 'conflict' ? 'written at the same time as someone else: both values kept for a coordinator' : null,
    ].filter((n): n is string => n !== null);
    if (entry.op === 'delete') {
      return { kind: 'deleted', at, who, what: 'Deleted', detail: notes.join('; ') || undefined };
    }
    const fields = Object.entries(entry.fields ?? {}).filter(([field]) => !HIDDEN.has(field));
    const created = index === 0 && entries[0]?.version === 1;
    const restored = fields.length === 1 && fields[0]![0] === DELETED_AT;
    const what = created
      ? 'Created'
      : restored
        ? 'Restored'
        : `Changed ${fields.map(([field]) => field).join(', ') || 'nothing visible'}`;
    const detail = [
      ...(created || restored ? [] : fields.map(([field, value]) => `${field}: ${show(value)}`)),
      ...notes,
    ].join('\n');
    return { kind: created ? 'created' : 'field', at, who, what, detail: detail || undefined };
  });
  events.reverse();
  return [...pendingEvents(pending, name).reverse(), ...events];
}
