import { describe, expect, it } from 'vitest';
import type { DraftPhoto } from './draft';
import { coordinatesText, photoLocationOf, withPhotoLocation } from './photo-location';
import type { PreparedPhoto } from './store';

const ref = (hash: string) => ({ hash, type: 'image/jpeg' as const, size: 1 });
const prepared = (gps?: { lat: number; lon: number }) => ({ ...(gps ? { gps } : {}) }) as PreparedPhoto;

describe('the photo location choice', () => {
  it('offers the first new photo that has coordinates, never a saved one', () => {
    const photos: DraftPhoto[] = [
      { ref: ref('a') },
      { ref: ref('b'), prepared: prepared() },
      { ref: ref('c'), prepared: prepared({ lat: 1.5, lon: -2 }) },
      { ref: ref('d'), prepared: prepared({ lat: 9, lon: 9 }) },
    ];
    expect(photoLocationOf(photos)).toEqual({ lat: 1.5, lon: -2 });
    expect(photoLocationOf(photos.slice(0, 2))).toBeNull();
  });

  it('sets lat/lon and keeps a typed place name, replacing typed coordinates', () => {
    const gps = { lat: 51.5007, lon: -0.1246 };
    expect(withPhotoLocation({ title: 't', location: null }, gps)).toEqual({ title: 't', location: gps });
    expect(withPhotoLocation({ location: { label: 'Hall', lat: 1, lon: 2 } }, gps)).toEqual({
      location: { label: 'Hall', ...gps },
    });
    expect(coordinatesText(gps)).toBe('51.50070, -0.12460');
  });
});
