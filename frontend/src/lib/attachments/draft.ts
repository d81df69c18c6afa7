/** Photos (and a document's files) on a form: what the record will name, and the bytes of the ones added in this edit. */
import type { AttachmentRef } from '@lifeline/core';
import type { AttachmentBlob } from '$lib/db';
import type { PreparedFile } from './prepare-file';
import type { PreparedPhoto } from './store';

export interface DraftPhoto {
  ref: AttachmentRef;
  /** Added in this edit: not stored until the form is saved. */
  prepared?: PreparedPhoto;
}

/** A file (PDF) on the document form, the same way. */
export interface DraftFile {
  ref: AttachmentRef;
  prepared?: PreparedFile;
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

/** The same for a form holding photos and files (the document editor): photos first, then files. */
export function attachmentsForSave(
  photos: DraftPhoto[],
  files: DraftFile[],
  hadAttachments: boolean,
): { attachments?: AttachmentRef[]; blobs: AttachmentBlob[] } {
  const saved = photosForSave(photos, hadAttachments || files.length > 0);
  const fileBlobs = files.flatMap((file) => (file.prepared ? [file.prepared.blob] : []));
  const blobs = [...saved.blobs, ...fileBlobs];
  if (!saved.attachments) return { blobs };
  return { attachments: [...saved.attachments, ...files.map((file) => ({ ...file.ref }))], blobs };
}
