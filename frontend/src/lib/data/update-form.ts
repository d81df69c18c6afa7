/** Turns what was typed into update fields the contract accepts, or says in words what to fix. */
import type { ViewRecord } from '$lib/sync/overlay';

export interface UpdateDraft {
  kind: string;
  title: string;
  body: string;
  priority: string;
  status: string;
  locationLabel: string;
  lat: string;
  lon: string;
  tags: string;
}

export function draftFrom(view: ViewRecord | null): UpdateDraft {
  const f = view?.fields ?? {};
  const location = (f.location as { label?: string; lat?: number; lon?: number } | null | undefined) ?? null;
  return {
    kind: String(f.kind ?? 'need'),
    title: String(f.title ?? ''),
    body: String(f.body ?? ''),
    priority: String(f.priority ?? 'normal'),
    status: String(f.status ?? 'open'),
    locationLabel: location?.label ?? '',
    lat: location?.lat === undefined ? '' : String(location.lat),
    lon: location?.lon === undefined ? '' : String(location.lon),
    tags: Array.isArray(f.tags) ? f.tags.join(', ') : '',
  };
}

export type ParsedDraft = { ok: true; fields: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

function coordinate(text: string, limit: number, name: string, errors: Record<string, string>): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || Math.abs(value) > limit) {
    errors[name] = `Enter a number between -${limit} and ${limit}, or leave it empty.`;
    return undefined;
  }
  return value;
}

export function parseDraft(draft: UpdateDraft): ParsedDraft {
  const errors: Record<string, string> = {};
  const title = draft.title.trim();
  if (title.length === 0) errors.title = 'A title is needed.';
  if (title.length > 200) errors.title = 'Keep the title under 200 characters.';
  if (draft.body.length > 10_000) errors.body = 'The text is too long (10,000 characters at most).';
  const lat = coordinate(draft.lat, 90, 'lat', errors);
  const lon = coordinate(draft.lon, 180, 'lon', errors);
  const tags = draft.tags
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (tags.length > 20) errors.tags = 'Use at most 20 tags.';
  if (tags.some((tag) => tag.length > 50)) errors.tags = 'Each tag can be at most 50 characters.';
  if (draft.locationLabel.length > 200) errors.location = 'Keep the place under 200 characters.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };

  const location: { label?: string; lat?: number; lon?: number } = {};
  if (draft.locationLabel.trim()) location.label = draft.locationLabel.trim();
  if (lat !== undefined) location.lat = lat;
  if (lon !== undefined) location.lon = lon;
  return {
    ok: true,
    fields: {
      kind: draft.kind,
      title,
      body: draft.body,
      priority: draft.priority,
      status: draft.status,
      location: Object.keys(location).length > 0 ? location : null,
      tags,
    },
  };
}
