/**
 * A PDF as picked, made ready to keep and send. Unlike a photo it is kept
 * byte for byte (re-encoding a document is not ours to do): only checked to
 * be a PDF and small enough for the server, and named by its SHA-256.
 */
import type { AttachmentRef } from '@lifeline/core';
import type { AttachmentBlob } from '$lib/db';
import { bytes } from '$lib/util/format';
import { sha256Hex } from './store';

/** The server's default ATTACHMENT_MAX_BYTES: a larger file would be refused at upload, long after saving. */
export const FILE_MAX_BYTES = 10 * 1024 * 1024;
/** What the server's type sniffing looks for: every PDF starts with it. */
const PDF_MAGIC = '%PDF-';
/** The longest name a record may carry (attachmentRefSchema). */
export const FILE_NAME_MAX = 200;

/** A file made ready on this device (checked, hashed), not yet stored. */
export interface PreparedFile {
  ref: AttachmentRef;
  blob: AttachmentBlob;
}

async function startsWithPdfMagic(file: Blob): Promise<boolean> {
  const head = new Uint8Array(await file.slice(0, PDF_MAGIC.length).arrayBuffer());
  return String.fromCharCode(...head) === PDF_MAGIC;
}

/** The name kept with the record: what the person will see and download it as (shortened, its extension kept). */
export function fileNameOf(name: string): string {
  const trimmed = name.trim() || 'document.pdf';
  if (trimmed.length <= FILE_NAME_MAX) return trimmed;
  const dot = trimmed.lastIndexOf('.');
  const extension = dot > 0 && trimmed.length - dot <= 10 ? trimmed.slice(dot) : '';
  return trimmed.slice(0, FILE_NAME_MAX - extension.length) + extension;
}

/** Throws an Error with a message for people when the file is not a PDF the server would take. */
export async function preparePdf(file: Blob, name: string, maxBytes = FILE_MAX_BYTES): Promise<PreparedFile> {
  if (file.size === 0 || !(await startsWithPdfMagic(file))) {
    throw new Error('This file is not a PDF. Only PDF files can be added here.');
  }
  if (file.size > maxBytes) {
    throw new Error(`This file is too large (${bytes(file.size)}): at most ${bytes(maxBytes)}.`);
  }
  // Typed here so the object URL offered for download is a PDF, whatever the picker said.
  const blob = new Blob([file], { type: 'application/pdf' });
  const hash = await sha256Hex(blob);
  const kept = fileNameOf(name);
  return {
    ref: { hash, type: 'application/pdf', size: blob.size, name: kept },
    blob: {
      hash,
      blob,
      type: 'application/pdf',
      size: blob.size,
      name: kept,
      role: 'full',
      uploaded: false,
      storedAt: new Date().toISOString(),
    },
  };
}
