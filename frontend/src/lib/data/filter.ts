/** Feed filtering: exact matches on kind/status/priority, every search word somewhere in the text. */
import type { ViewRecord } from '$lib/sync/overlay';

export interface UpdateFilter {
  kind: string;
  status: string;
  priority: string;
  query: string;
}

export function searchableText(update: ViewRecord): string {
  const f = update.fields;
  const location = (f.location as { label?: string } | null | undefined)?.label ?? '';
  const tags = Array.isArray(f.tags) ? f.tags.join(' ') : '';
  return `${String(f.title ?? '')} ${String(f.body ?? '')} ${location} ${tags}`.toLowerCase();
}

export function matchesUpdate(update: ViewRecord, filter: UpdateFilter): boolean {
  const f = update.fields;
  if (filter.kind && f.kind !== filter.kind) return false;
  if (filter.status && f.status !== filter.status) return false;
  if (filter.priority && f.priority !== filter.priority) return false;
  const words = filter.query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = searchableText(update);
  return words.every((word) => text.includes(word));
}
