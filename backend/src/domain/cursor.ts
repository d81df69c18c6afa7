/**
 * Pull cursors: opaque strings naming the server they came from and a
 * position in its pull order (transaction id, sequence).
 */
import type { PullPosition } from '../db/records';

export const START: PullPosition = { txId: '0', seq: 0 };

export function encodeCursor(serverId: string, position: PullPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, s: serverId, t: position.txId, q: position.seq })).toString('base64url');
}

export type DecodedCursor =
  | { ok: true; position: PullPosition }
  | { ok: false; reason: 'malformed' }
  | { ok: false; reason: 'other_server'; serverId: string };

export function decodeCursor(cursor: string | null, serverId: string): DecodedCursor {
  if (cursor === null) return { ok: true, position: START };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const value = parsed as { v?: unknown; s?: unknown; t?: unknown; q?: unknown } | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    value.v !== 1 ||
    typeof value.s !== 'string' ||
    typeof value.t !== 'string' ||
    !/^\d{1,20}$/.test(value.t) ||
    typeof value.q !== 'number' ||
    !Number.isSafeInteger(value.q) ||
    value.q < 0
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (value.s !== serverId) return { ok: false, reason: 'other_server', serverId: value.s };
  return { ok: true, position: { txId: value.t, seq: value.q } };
}
