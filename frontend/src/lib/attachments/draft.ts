/** Photos on the update form: what the record will name, and the bytes of the ones added in this edit. */
import type { AttachmentRef } from '@lifeline/core';
import type { AttachmentBlob } from '$lib/db';
import type { PreparedPhoto } from './store';

export interface DraftPhoto {
  ref: AttachmentRef;
  /** Added in this edit: not stored until the form is saved. */
  prepared?: PreparedPhoto;
}

/**
 * The attachments field to write (only when there is something to say: a
 * record that never had photos is left without the field) and the blobs to
 * keep with the change.
 */
export function photosForSave(
  photos: DraftPhoto[],
  hadPhotos: boolean,
): { attachments?: AttachmentRef[]; blobs: AttachmentBlob[] } {
  const blobs = photos.flatMap((photo) => (photo.prepared ? [photo.prepared.thumbnail, photo.prepared.full] : []));
  if (photos.length === 0 && !hadPhotos) return { blobs };
  return { attachments: photos.map((photo) => ({ ...photo.ref })), blobs };
}
