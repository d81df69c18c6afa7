/**
 * A photo as picked or taken, made ready to keep and send: decoded, drawn
 * again as a JPEG no longer than 1600 px on its long side, plus a 320 px
 * thumbnail, each named by its SHA-256. Drawing again keeps only pixels, so
 * EXIF (camera location included) never leaves the device; the camera's
 * coordinates are read apart (exif-gps), for the person to use or not.
 */
import type { AttachmentBlob } from '$lib/db';
import { readFileGps } from './exif-gps';
import { sha256Hex, type PreparedPhoto } from './store';

export const FULL_LONG_SIDE = 1600;
export const THUMBNAIL_LONG_SIDE = 320;
export const JPEG_QUALITY = 0.82;

/** The size that fits `longSide`, never enlarged. */
export function fit(width: number, height: number, longSide: number): { width: number; height: number } {
  const scale = Math.min(1, longSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

async function encode(bitmap: ImageBitmap, longSide: number): Promise<{ blob: Blob; width: number; height: number }> {
  const { width, height } = fit(bitmap.width, bitmap.height, longSide);
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('This browser cannot prepare photos.');
    context.drawImage(bitmap, 0, 0, width, height);
    return { blob: await canvas.convertToBlob({ type: 'image/jpeg', quality: JPEG_QUALITY }), width, height };
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('This browser cannot prepare photos.');
  context.drawImage(bitmap, 0, 0, width, height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
  if (!blob) throw new Error('This browser cannot prepare photos.');
  return { blob, width, height };
}

async function entry(
  encoded: { blob: Blob; width: number; height: number },
  role: AttachmentBlob['role'],
): Promise<AttachmentBlob> {
  return {
    hash: await sha256Hex(encoded.blob),
    blob: encoded.blob,
    type: 'image/jpeg',
    size: encoded.blob.size,
    width: encoded.width,
    height: encoded.height,
    role,
    uploaded: false,
    storedAt: new Date().toISOString(),
  };
}

/** Throws an Error with a message for people when the file is not an image this browser can read. */
export async function preparePhoto(file: Blob): Promise<PreparedPhoto> {
  let bitmap: ImageBitmap;
  try {
    // Turned upright as the camera meant it, then drawn without its metadata.
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new Error('This file is not a photo this browser can open.');
  }
  try {
    const full = await entry(await encode(bitmap, FULL_LONG_SIDE), 'full');
    const thumbnail = await entry(await encode(bitmap, THUMBNAIL_LONG_SIDE), 'thumbnail');
    const gps = await readFileGps(file);
    return {
      full,
      thumbnail,
      ...(gps ? { gps } : {}),
      ref: {
        hash: full.hash,
        type: 'image/jpeg',
        size: full.size,
        width: full.width,
        height: full.height,
        thumbnailHash: thumbnail.hash,
      },
    };
  } finally {
    bitmap.close();
  }
}
