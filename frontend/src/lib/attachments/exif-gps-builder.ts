/**
 * Test helper: an Exif APP1 segment naming GPS coordinates, laid out as a
 * camera writes it (TIFF header, IFD0 with the GPS pointer, the GPS IFD,
 * then the rationals), in either byte order, and a JPEG with it inserted.
 * Used by exif-gps.test.ts and once to make tests/e2e/fixtures/photo-gps.jpg.
 */

/** Degrees, minutes, seconds, each as [numerator, denominator]. */
export type Dms = [[number, number], [number, number], [number, number]];

export interface GpsExif {
  littleEndian: boolean;
  latRef: string;
  lat: Dms;
  lonRef: string;
  lon: Dms;
}

/** The TIFF block alone (what follows "Exif\0\0"). */
export function gpsTiff(exif: GpsExif): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(128);
  const view = new DataView(bytes.buffer);
  const le = exif.littleEndian;
  view.setUint16(0, le ? 0x4949 : 0x4d4d);
  view.setUint16(2, 42, le);
  view.setUint32(4, 8, le);
  const entry = (at: number, tag: number, type: number, count: number, value: number | string) => {
    view.setUint16(at, tag, le);
    view.setUint16(at + 2, type, le);
    view.setUint32(at + 4, count, le);
    if (typeof value === 'string') [...value].forEach((c, i) => view.setUint8(at + 8 + i, c.charCodeAt(0)));
    else view.setUint32(at + 8, value, le);
  };
  // IFD0 at 8: one entry, the GPS IFD pointer; GPS IFD at 26: four entries; rationals at 80 and 104.
  view.setUint16(8, 1, le);
  entry(10, 0x8825, 4, 1, 26);
  view.setUint16(26, 4, le);
  entry(28, 1, 2, 2, exif.latRef);
  entry(40, 2, 5, 3, 80);
  entry(52, 3, 2, 2, exif.lonRef);
  entry(64, 4, 5, 3, 104);
  exif.lat.forEach(([n, d], i) => (view.setUint32(80 + i * 8, n, le), view.setUint32(84 + i * 8, d, le)));
  exif.lon.forEach(([n, d], i) => (view.setUint32(104 + i * 8, n, le), view.setUint32(108 + i * 8, d, le)));
  return bytes;
}

/** An APP1 segment (marker, length, "Exif\0\0", TIFF). */
export function exifSegment(tiff: Uint8Array): Uint8Array<ArrayBuffer> {
  const segment = new Uint8Array(10 + tiff.length);
  segment.set([0xff, 0xe1, ((tiff.length + 8) >> 8) & 0xff, (tiff.length + 8) & 0xff]);
  segment.set([0x45, 0x78, 0x69, 0x66, 0, 0], 4);
  segment.set(tiff, 10);
  return segment;
}

/** `jpeg` with `segment` right after its start-of-image marker. */
export function withSegment(jpeg: Uint8Array, segment: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(jpeg.length + segment.length);
  out.set(jpeg.subarray(0, 2));
  out.set(segment, 2);
  out.set(jpeg.subarray(2), 2 + segment.length);
  return out;
}

/** A minimal JPEG-shaped byte string (start of image, the segment, start of scan, end of image). */
export function tinyJpeg(segment: Uint8Array): Uint8Array<ArrayBuffer> {
  return withSegment(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9]), segment);
}
