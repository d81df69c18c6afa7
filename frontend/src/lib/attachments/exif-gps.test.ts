/** The EXIF GPS reader: both byte orders, signs from the refs, and null (never a throw) for anything malformed. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFileGps, readGpsCoordinates } from './exif-gps';
import { exifSegment, gpsTiff, tinyJpeg, type GpsExif } from './exif-gps-builder';

const fixture = (name: string) =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../../../../tests/e2e/fixtures/${name}`, import.meta.url))));

// 51° 30' 2.52" N, 0° 7' 28.56" W: Westminster.
const WESTMINSTER: GpsExif = {
  littleEndian: true,
  latRef: 'N',
  lat: [
    [51, 1],
    [30, 1],
    [252, 100],
  ],
  lonRef: 'W',
  lon: [
    [0, 1],
    [7, 1],
    [2856, 100],
  ],
};

const jpegWith = (exif: GpsExif) => tinyJpeg(exifSegment(gpsTiff(exif)));

/** The TIFF block of a built JPEG starts after SOI (2), the APP1 marker and length (4) and "Exif\0\0" (6). */
const TIFF_AT = 12;

function patched(exif: GpsExif, patch: (view: DataView, little: boolean) => void): Uint8Array {
  const bytes = jpegWith(exif);
  patch(new DataView(bytes.buffer, TIFF_AT), exif.littleEndian);
  return bytes;
}

describe('readGpsCoordinates', () => {
  it('reads little-endian (Intel) EXIF, west as negative', () => {
    expect(readGpsCoordinates(jpegWith(WESTMINSTER))).toEqual({ lat: 51.5007, lon: -0.1246 });
  });

  it('reads big-endian (Motorola) EXIF, south and east', () => {
    const exif: GpsExif = {
      littleEndian: false,
      latRef: 'S',
      lat: [
        [33, 1],
        [5164, 100],
        [0, 1],
      ],
      lonRef: 'E',
      lon: [
        [151, 1],
        [12, 1],
        [3600, 100],
      ],
    };
    // 33° 51.64' S, 151° 12' 36" E: Sydney.
    expect(readGpsCoordinates(jpegWith(exif))).toEqual({ lat: -33.860667, lon: 151.21 });
    expect(readGpsCoordinates(jpegWith({ ...exif, latRef: 'N', lonRef: 'W' }))).toEqual({
      lat: 33.860667,
      lon: -151.21,
    });
  });

  it('finds the Exif segment after other segments (JFIF, comments)', () => {
    const jfif = Uint8Array.from([0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xfe, 0x00, 0x03, 0x41]);
    const bytes = jpegWith(WESTMINSTER);
    const moved = new Uint8Array(bytes.length + jfif.length);
    moved.set(bytes.subarray(0, 2));
    moved.set(jfif, 2);
    moved.set(bytes.subarray(2), 2 + jfif.length);
    expect(readGpsCoordinates(moved)).toEqual({ lat: 51.5007, lon: -0.1246 });
  });

  it('answers null for the e2e photos, whose EXIF block names no GPS, and reads the GPS fixture', async () => {
    expect(readGpsCoordinates(fixture('photo-1.jpg'))).toBeNull();
    expect(readGpsCoordinates(fixture('photo-2.jpg'))).toBeNull();
    const gps = fixture('photo-gps.jpg');
    expect(readGpsCoordinates(gps)).toEqual({ lat: 51.5007, lon: -0.1246 });
    expect(await readFileGps(new Blob([gps]))).toEqual({ lat: 51.5007, lon: -0.1246 });
  });

  it('answers null, never throws, for every truncation of a good file', () => {
    const segment = exifSegment(gpsTiff(WESTMINSTER));
    const bytes = tinyJpeg(segment);
    const segmentEnd = 2 + segment.length;
    for (let length = 0; length < bytes.length; length += 1) {
      const cut = bytes.slice(0, length);
      // Cut inside the segment, its declared length runs past the end: refused before anything is read.
      const expected = length < segmentEnd ? null : { lat: 51.5007, lon: -0.1246 };
      expect(readGpsCoordinates(cut), `cut at ${length}`).toEqual(expected);
    }
    // The segment whole but its TIFF block cut short (the length says so): every read stays inside it.
    for (let length = 0; length < 128; length += 1) {
      expect(
        readGpsCoordinates(tinyJpeg(exifSegment(gpsTiff(WESTMINSTER).slice(0, length)))),
        `tiff ${length}`,
      ).toBeNull();
    }
  });

  it('answers null for what is not a JPEG with EXIF', () => {
    expect(readGpsCoordinates(new Uint8Array())).toBeNull();
    expect(readGpsCoordinates(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(readGpsCoordinates(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]))).toBeNull();
    // A TIFF header with an unknown byte order, or the wrong magic number.
    expect(readGpsCoordinates(patched(WESTMINSTER, (v) => v.setUint16(0, 0x4141)))).toBeNull();
    expect(readGpsCoordinates(patched(WESTMINSTER, (v, le) => v.setUint16(2, 43, le)))).toBeNull();
  });

  it('bounds every offset: huge or past-the-end pointers and counts give null', () => {
    const cases: Array<[string, (view: DataView, little: boolean) => void]> = [
      ['IFD0 offset', (v, le) => v.setUint32(4, 0xffffffff, le)],
      ['IFD0 entry count', (v, le) => v.setUint16(8, 0xffff, le)],
      ['GPS IFD pointer', (v, le) => v.setUint32(18, 0xfffffff0, le)],
      ['GPS IFD pointer just past the end', (v, le) => v.setUint32(18, 127, le)],
      ['latitude rationals offset', (v, le) => v.setUint32(48, 0x7fffffff, le)],
      ['latitude rationals count', (v, le) => v.setUint32(44, 0x20000000, le)],
      ['longitude rationals offset', (v, le) => v.setUint32(72, 110, le)],
    ];
    for (const [name, patch] of cases) {
      for (const littleEndian of [true, false]) {
        expect(readGpsCoordinates(patched({ ...WESTMINSTER, littleEndian }, patch)), name).toBeNull();
      }
    }
  });

  it('answers null for zero denominators, unknown refs, out-of-range values, wrong types and a 0,0 "no fix"', () => {
    const zero: GpsExif = {
      ...WESTMINSTER,
      lat: [
        [51, 0],
        [30, 1],
        [0, 1],
      ],
    };
    expect(readGpsCoordinates(jpegWith(zero))).toBeNull();
    expect(readGpsCoordinates(jpegWith({ ...WESTMINSTER, latRef: 'X' }))).toBeNull();
    expect(readGpsCoordinates(jpegWith({ ...WESTMINSTER, lonRef: '\0' }))).toBeNull();
    const far: GpsExif = {
      ...WESTMINSTER,
      lat: [
        [95, 1],
        [0, 1],
        [0, 1],
      ],
    };
    expect(readGpsCoordinates(jpegWith(far))).toBeNull();
    // Latitude as a LONG instead of RATIONAL.
    expect(readGpsCoordinates(patched(WESTMINSTER, (v, le) => v.setUint16(42, 4, le)))).toBeNull();
    const nowhere: GpsExif = {
      ...WESTMINSTER,
      lat: [
        [0, 1],
        [0, 1],
        [0, 1],
      ],
      lon: [
        [0, 1],
        [0, 1],
        [0, 1],
      ],
    };
    expect(readGpsCoordinates(jpegWith(nowhere))).toBeNull();
  });

  it('never throws on random corruption', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 2000; round += 1) {
      const bytes = jpegWith({ ...WESTMINSTER, littleEndian: round % 2 === 0 });
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips -= 1) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const result = readGpsCoordinates(bytes);
      if (result) {
        expect(Math.abs(result.lat)).toBeLessThanOrEqual(90);
        expect(Math.abs(result.lon)).toBeLessThanOrEqual(180);
      }
    }
  });
});
