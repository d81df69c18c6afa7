/**
 * The camera's coordinates in a JPEG's EXIF block, if any: read only to
 * offer "use this photo's location" on the update (the photo itself is
 * re-encoded without them, attachments/prepare). Pure and defensive: any
 * file, however malformed, gives null, never an exception, and every
 * offset is checked against the bytes there are.
 */

export interface GpsCoordinates {
  lat: number;
  lon: number;
}

/** EXIF sits near the start (an APP1 segment is at most 64 KiB): no need to read a whole photo. */
export const EXIF_SEARCH_BYTES = 256 * 1024;

const GPS_IFD_POINTER = 0x8825;
const GPS_LATITUDE_REF = 1;
const GPS_LATITUDE = 2;
const GPS_LONGITUDE_REF = 3;
const GPS_LONGITUDE = 4;
const TYPE_ASCII = 2;
const TYPE_LONG = 4;
const TYPE_RATIONAL = 5;
const TYPE_IFD = 13;

/** Bounds-checked reads inside the TIFF block of one APP1 segment. */
class Tiff {
  constructor(
    private readonly view: DataView,
    private readonly little: boolean,
  ) {}

  fits(offset: number, length: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && length >= 0 && offset + length <= this.view.byteLength;
  }
  u16(offset: number): number | null {
    return this.fits(offset, 2) ? this.view.getUint16(offset, this.little) : null;
  }
  u32(offset: number): number | null {
    return this.fits(offset, 4) ? this.view.getUint32(offset, this.little) : null;
  }
  u8(offset: number): number | null {
    return this.fits(offset, 1) ? this.view.getUint8(offset) : null;
  }
}

interface Entry {
  type: number;
  count: number;
  /** Where the value is: inside the entry when it fits in 4 bytes, else at the offset the entry names. */
  valueAt: number;
}

const TYPE_BYTES: Record<number, number> = { [TYPE_ASCII]: 1, [TYPE_LONG]: 4, [TYPE_RATIONAL]: 8, [TYPE_IFD]: 4 };

/** The entries of the IFD at `offset`, by tag (only types this reader uses). */
function readIfd(tiff: Tiff, offset: number): Map<number, Entry> | null {
  const count = tiff.u16(offset);
  if (count === null || !tiff.fits(offset + 2, count * 12)) return null;
  const entries = new Map<number, Entry>();
  for (let i = 0; i < count; i += 1) {
    const at = offset + 2 + i * 12;
    const [tag, type, valueCount, pointer] = [tiff.u16(at), tiff.u16(at + 2), tiff.u32(at + 4), tiff.u32(at + 8)];
    if (tag === null || type === null || valueCount === null || pointer === null) return null;
    const size = TYPE_BYTES[type];
    if (size === undefined) continue;
    const valueAt = size * valueCount <= 4 ? at + 8 : pointer;
    if (!tiff.fits(valueAt, size * valueCount)) continue;
    entries.set(tag, { type, count: valueCount, valueAt });
  }
  return entries;
}

/** N/S/E/W as written by the camera (ASCII, first character). */
function refOf(tiff: Tiff, entry: Entry | undefined): string | null {
  if (!entry || entry.type !== TYPE_ASCII || entry.count < 1) return null;
  const code = tiff.u8(entry.valueAt);
  return code === null ? null : String.fromCharCode(code).toUpperCase();
}

/** Degrees, minutes, seconds as three rationals, to decimal degrees. */
function degreesOf(tiff: Tiff, entry: Entry | undefined): number | null {
  if (!entry || entry.type !== TYPE_RATIONAL || entry.count !== 3) return null;
  let degrees = 0;
  for (let i = 0; i < 3; i += 1) {
    const numerator = tiff.u32(entry.valueAt + i * 8);
    const denominator = tiff.u32(entry.valueAt + i * 8 + 4);
    if (numerator === null || !denominator) return null;
    degrees += numerator / denominator / 60 ** i;
  }
  return degrees;
}

function signed(value: number | null, ref: string | null, positive: string, negative: string): number | null {
  if (value === null || (ref !== positive && ref !== negative)) return null;
  return ref === negative ? -value : value;
}

/** The TIFF block of the JPEG's Exif APP1 segment, or null. */
function exifTiff(bytes: Uint8Array): DataView | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    // Start of scan or end of image: the metadata segments are all before.
    if (marker === 0xda || marker === 0xd9) return null;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2 || at + 2 + length > bytes.length) return null;
    const body = at + 4;
    const isExif =
      marker === 0xe1 && length >= 8 && String.fromCharCode(...bytes.subarray(body, body + 6)) === 'Exif\0\0';
    if (isExif) return new DataView(bytes.buffer, bytes.byteOffset + body + 6, length - 8);
    at += 2 + length;
  }
  return null;
}

/** The coordinates a JPEG's EXIF names, rounded to 6 decimals (about 10 cm); null when there are none or the data is bad. */
export function readGpsCoordinates(input: ArrayBuffer | Uint8Array): GpsCoordinates | null {
  try {
    const view = exifTiff(input instanceof Uint8Array ? input : new Uint8Array(input));
    if (!view || view.byteLength < 8) return null;
    const order = view.getUint16(0);
    if (order !== 0x4949 && order !== 0x4d4d) return null;
    const tiff = new Tiff(view, order === 0x4949);
    if (tiff.u16(2) !== 42) return null;
    const ifd0 = readIfd(tiff, tiff.u32(4) ?? -1);
    const pointer = ifd0?.get(GPS_IFD_POINTER);
    if (!pointer || (pointer.type !== TYPE_LONG && pointer.type !== TYPE_IFD)) return null;
    const gps = readIfd(tiff, tiff.u32(pointer.valueAt) ?? -1);
    if (!gps) return null;
    const lat = signed(degreesOf(tiff, gps.get(GPS_LATITUDE)), refOf(tiff, gps.get(GPS_LATITUDE_REF)), 'N', 'S');
    const lon = signed(degreesOf(tiff, gps.get(GPS_LONGITUDE)), refOf(tiff, gps.get(GPS_LONGITUDE_REF)), 'E', 'W');
    if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
    // A camera with no fix may write zeros: no place worth offering.
    if (lat === 0 && lon === 0) return null;
    const round = (value: number) => Math.round(value * 1e6) / 1e6;
    return { lat: round(lat), lon: round(lon) };
  } catch {
    return null;
  }
}

/** The same for a picked file, reading only its start. */
export async function readFileGps(file: Blob): Promise<GpsCoordinates | null> {
  try {
    return readGpsCoordinates(await file.slice(0, EXIF_SEARCH_BYTES).arrayBuffer());
  } catch {
    return null;
  }
}
