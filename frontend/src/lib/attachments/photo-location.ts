/** "Use this photo's location": the camera's coordinates put on the update the person chose them for. */
import type { DraftPhoto } from './draft';
import type { GpsCoordinates } from './exif-gps';

/** The first photo added in this edit whose camera named where it was (photos already saved carry none). */
export function photoLocationOf(photos: DraftPhoto[]): GpsCoordinates | null {
  return photos.find((photo) => photo.prepared?.gps)?.prepared?.gps ?? null;
}

/** The update's fields with lat/lon from the photo; a place name typed in stays. */
export function withPhotoLocation(fields: Record<string, unknown>, gps: GpsCoordinates): Record<string, unknown> {
  const current = fields.location;
  const label = typeof current === 'object' && current !== null ? (current as { label?: unknown }).label : undefined;
  return { ...fields, location: { ...(typeof label === 'string' ? { label } : {}), lat: gps.lat, lon: gps.lon } };
}

/** The coordinates as the choice shows them. */
export function coordinatesText(gps: GpsCoordinates): string {
  return `${gps.lat.toFixed(5)}, ${gps.lon.toFixed(5)}`;
}
