/**
 * Storage encoding of per-field authorship. In memory every field carries its
 * writer (change id, author, origin, client time); stored that way a record
 * of ten fields written by one change repeats the same writer ten times, and
 * the push path pays for every byte as jsonb. Stored, each writer appears
 * once and fields point at it.
 */
import type { FieldMeta } from '@lifeline/core';

type Writer = [changeId: string | null, author: string | null, origin: string | null, clientTime: string | null];
type PackedField = [
  writer: number,
  base: string | null,
  isDefault?: 0 | 1,
  seen?: Record<string, string | null> | null,
  formerStamps?: string[],
];

export interface PackedMeta {
  w: Writer[];
  f: Record<string, PackedField>;
}

export function packMeta(meta: Record<string, FieldMeta>): PackedMeta {
  const writers: Writer[] = [];
  const fields: Record<string, PackedField> = {};
  for (const field of Object.keys(meta)) {
    const m = meta[field]!;
    // A record has a handful of writers: comparing with each beats building and hashing a key per field.
    let position = writers.findIndex(
      (w) => w[0] === m.changeId && w[1] === m.author && w[2] === m.origin && w[3] === m.clientTime,
    );
    if (position < 0) position = writers.push([m.changeId, m.author, m.origin, m.clientTime]) - 1;
    const packed: PackedField = [position, m.base];
    const former = m.formerStamps && m.formerStamps.length > 0 ? m.formerStamps : undefined;
    if (m.isDefault || m.seen || former) packed.push(m.isDefault ? 1 : 0);
    if (m.seen || former) packed.push(m.seen ?? null);
    if (former) packed.push(former);
    fields[field] = packed;
  }
  return { w: writers, f: fields };
}

export function unpackMeta(stored: unknown): Record<string, FieldMeta> {
  const packed = stored as Partial<PackedMeta> | null;
  if (!packed || !Array.isArray(packed.w) || typeof packed.f !== 'object' || packed.f === null) {
    // Rows written before packing (or empty): already one object per field.
    return (stored as Record<string, FieldMeta> | null) ?? {};
  }
  const meta: Record<string, FieldMeta> = {};
  for (const [field, [position, base, isDefault, seen, formerStamps]] of Object.entries(packed.f)) {
    const [changeId, author, origin, clientTime] = packed.w[position] ?? [null, null, null, null];
    const m: FieldMeta = { changeId, author, origin, clientTime, base };
    if (isDefault === 1) m.isDefault = true;
    if (seen) m.seen = seen;
    if (formerStamps && formerStamps.length > 0) m.formerStamps = formerStamps;
    meta[field] = m;
  }
  return meta;
}

/**
 * `unpackMeta` in SQL, for the jsonb column `column`: what a hub's pull page
 * carries, built by Postgres so the cloud neither parses nor re-serialises
 * every field's authorship (tests/sync/hub-pull-wire.test.ts holds the two
 * to the same answer). Keys are left out exactly where `unpackMeta` leaves
 * them out.
 */
export function unpackMetaSql(column: string): string {
  return `CASE WHEN jsonb_typeof(${column} -> 'w') = 'array' AND jsonb_typeof(${column} -> 'f') = 'object' THEN (
      SELECT coalesce(jsonb_object_agg(f.key,
               jsonb_build_object('changeId', w.writer -> 0, 'author', w.writer -> 1, 'origin', w.writer -> 2,
                                  'clientTime', w.writer -> 3, 'base', f.value -> 1)
               || CASE WHEN f.value ->> 2 = '1' THEN '{"isDefault": true}'::jsonb ELSE '{}'::jsonb END
               || CASE WHEN jsonb_typeof(f.value -> 3) = 'object'
                       THEN jsonb_build_object('seen', f.value -> 3) ELSE '{}'::jsonb END
               || CASE WHEN jsonb_typeof(f.value -> 4) = 'array' AND jsonb_array_length(f.value -> 4) > 0
                       THEN jsonb_build_object('formerStamps', f.value -> 4) ELSE '{}'::jsonb END), '{}'::jsonb)
        FROM jsonb_each(${column} -> 'f') AS f(key, value)
        CROSS JOIN LATERAL (
          SELECT coalesce(${column} -> 'w' -> ((f.value ->> 0)::int), '[null, null, null, null]'::jsonb) AS writer
        ) AS w)
    ELSE coalesce(${column}, '{}'::jsonb) END`;
}
