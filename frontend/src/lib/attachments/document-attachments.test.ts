/**
 * A document's photos and files: what the editor saves (the attachments
 * field and the bytes, kept with the change in one write), how the queue
 * sends them (a PDF has no thumbnail and is declared with its name), and
 * that PDFs are fetched only when someone opens them, then kept within the
 * offline budget.
 */
import { describe, expect, it } from 'vitest';
import type { AttachmentRef, SyncRecord } from '@lifeline/core';
import { ApiError } from '$lib/api/client';
import { openLifelineDb, type AttachmentBlob } from '$lib/db';
import { writeFields } from '$lib/sync/outbox';
import { isKeptOffline, keptOffline } from './budget';
import { attachmentsForSave, type DraftFile, type DraftPhoto } from './draft';
import { preparePdf } from './prepare-file';
import { downloadThumbnails, fetchFullImage, uploadPending } from './queue';
import { pendingSummary, sha256Hex } from './store';
import type { AttachmentTransport } from './transport';

const DOC_ID = '00000000-0000-4000-8000-00000000d0c1';
const PDF_TEXT = '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n';

let dbCount = 0;
const freshDb = () => openLifelineDb(`doc-attachments-${Date.now()}-${(dbCount += 1)}`);

async function imageBlob(length: number, seed: number, role: AttachmentBlob['role']): Promise<AttachmentBlob> {
  const blob = new Blob([Uint8Array.from({ length }, (_, i) => (i * 7 + seed) % 251)], { type: 'image/jpeg' });
  return {
    hash: await sha256Hex(blob),
    blob,
    type: 'image/jpeg',
    size: blob.size,
    role,
    uploaded: false,
    storedAt: new Date().toISOString(),
  };
}

async function draftPhoto(seed: number): Promise<DraftPhoto> {
  const full = await imageBlob(1200, seed, 'full');
  const thumbnail = await imageBlob(300, seed + 1, 'thumbnail');
  const ref: AttachmentRef = { hash: full.hash, type: 'image/jpeg', size: full.size, thumbnailHash: thumbnail.hash };
  return { ref, prepared: { ref, full, thumbnail } };
}

async function draftPdf(name = 'Shelter rota.pdf', text = PDF_TEXT): Promise<DraftFile> {
  const prepared = await preparePdf(new Blob([text]), name);
  return { ref: prepared.ref, prepared };
}

/** An in-memory /api/attachments: complete at the last byte; remembers each declaration's name. */
class MemoryServer implements AttachmentTransport {
  files = new Map<string, { bytes: Uint8Array; size: number; received: number; type: string }>();
  declaredNames = new Map<string, string | undefined>();
  downloads: string[] = [];

  async declare(hash: string, size: number, name?: string) {
    this.declaredNames.set(hash, name);
    const file = this.files.get(hash) ?? { bytes: new Uint8Array(size), size, received: 0, type: '' };
    this.files.set(hash, file);
    return { offset: file.received, complete: file.received === file.size };
  }
  async offset(hash: string) {
    return this.files.get(hash)?.received ?? 0;
  }
  async append(hash: string, offset: number, piece: Blob) {
    const file = this.files.get(hash)!;
    const bytes = new Uint8Array(await piece.arrayBuffer());
    file.bytes.set(bytes, offset);
    file.received = offset + bytes.length;
    // The real server sniffs the type from the bytes.
    if (file.received === file.size)
      file.type = /^%PDF-/.test(new TextDecoder().decode(file.bytes.slice(0, 5))) ? 'application/pdf' : 'image/jpeg';
    return { offset: file.received, complete: file.received === file.size };
  }
  async download(hash: string) {
    this.downloads.push(hash);
    const file = this.files.get(hash);
    if (!file) throw new ApiError(404, 'not_found', 'attachment not found');
    if (file.received < file.size) throw new ApiError(409, 'incomplete', 'still uploading');
    return new Blob([file.bytes.slice()], { type: file.type });
  }
  async seed(bytes: Uint8Array, type: string): Promise<string> {
    const hash = await sha256Hex(new Blob([bytes.slice()]));
    this.files.set(hash, { bytes, size: bytes.length, received: bytes.length, type });
    return hash;
  }
}

function documentRecord(attachments: AttachmentRef[]): SyncRecord {
  return {
    entityType: 'document',
    entityId: DOC_ID,
    fields: { title: 'Shelter guide', body: '', tags: [], attachments },
    stamps: {},
    version: 1,
    deletedAt: null,
    updatedAt: new Date().toISOString(),
  } as SyncRecord;
}

describe('document attachments: what the editor saves', () => {
  it('names photos first, then files, and gives the bytes of what this edit added', async () => {
    const photo = await draftPhoto(1);
    const pdf = await draftPdf();
    const saved = attachmentsForSave([photo], [pdf], false);
    expect(saved.attachments).toEqual([photo.ref, pdf.ref]);
    expect(saved.blobs.map((b) => b.hash)).toEqual([photo.ref.thumbnailHash, photo.ref.hash, pdf.ref.hash]);
  });

  it('leaves a document that never had any without the field, and empties it when the last one is removed', async () => {
    expect(attachmentsForSave([], [], false)).toEqual({ blobs: [] });
    expect(attachmentsForSave([], [], true)).toEqual({ attachments: [], blobs: [] });
    // A file kept from before: named again, its bytes not stored twice.
    const kept = (await draftPdf()).ref;
    expect(attachmentsForSave([], [{ ref: kept }], true)).toEqual({ attachments: [kept], blobs: [] });
  });

  it('keeps the PDF and the photo with the document change in one write, waiting to be sent', async () => {
    const db = await freshDb();
    const photo = await draftPhoto(3);
    const pdf = await draftPdf();
    const { attachments, blobs } = attachmentsForSave([photo], [pdf], false);
    await writeFields(db, null, {
      entityType: 'document',
      entityId: DOC_ID,
      fields: { title: 'Shelter guide', body: '# Rota', tags: [], attachments },
      seen: {},
      blobs,
    });

    const [entry] = await db.getAll('outbox');
    expect(entry?.change.fields?.attachments).toEqual([photo.ref, pdf.ref]);
    const stored = await db.get('attachments', pdf.ref.hash);
    expect(stored).toMatchObject({ type: 'application/pdf', name: 'Shelter rota.pdf', role: 'full', uploaded: false });
    expect(await stored!.blob.text()).toBe(PDF_TEXT);
    expect(await db.get('attachments', photo.ref.thumbnailHash!)).toBeDefined();
    expect(await pendingSummary(db)).toEqual({
      photos: 1,
      files: 1,
      bytes: photo.prepared!.full.size + photo.prepared!.thumbnail.size + pdf.ref.size,
    });
  });

  it('a failed write keeps neither the change nor the bytes', async () => {
    const db = await freshDb();
    const pdf = await draftPdf();
    // A change that cannot be cloned into IndexedDB aborts the transaction the blobs were put in.
    await expect(
      writeFields(db, null, {
        entityType: 'document',
        entityId: DOC_ID,
        fields: { title: 'Broken', attachments: [pdf.ref], oops: () => undefined },
        seen: {},
        blobs: [pdf.prepared!.blob],
      }),
    ).rejects.toThrow();
    expect(await db.count('outbox')).toBe(0);
    expect(await db.count('attachments')).toBe(0);
  });
});

describe('document attachments: sending and fetching', () => {
  it('uploads the photo and the PDF (no thumbnail), the PDF declared with its name', async () => {
    const db = await freshDb();
    const photo = await draftPhoto(5);
    const pdf = await draftPdf();
    await writeFields(db, null, {
      entityType: 'document',
      entityId: DOC_ID,
      fields: { title: 'Shelter guide', attachments: [photo.ref, pdf.ref] },
      seen: {},
      blobs: attachmentsForSave([photo], [pdf], false).blobs,
    });
    const server = new MemoryServer();
    const progress: number[] = [];
    const report = await uploadPending(db, server, { onProgress: (p) => progress.push(p.photosTotal) });

    expect(report).toEqual({ uploaded: 3, refused: 0, failed: 0, stoppedBy: null });
    expect(progress[0]).toBe(2); // one photo and one file
    expect(new TextDecoder().decode(server.files.get(pdf.ref.hash)!.bytes)).toBe(PDF_TEXT);
    expect(server.declaredNames.get(pdf.ref.hash)).toBe('Shelter rota.pdf');
    expect(server.declaredNames.get(photo.ref.hash)).toBeUndefined();
    expect(await pendingSummary(db)).toEqual({ photos: 0, files: 0, bytes: 0 });
  });

  it('fetches thumbnails a document names, never its PDFs (those only when opened)', async () => {
    const db = await freshDb();
    const server = new MemoryServer();
    const thumbHash = await server.seed(new Uint8Array([1, 2, 3]), 'image/jpeg');
    const pdfHash = await server.seed(new TextEncoder().encode(PDF_TEXT), 'application/pdf');
    const photoRef: AttachmentRef = { hash: 'a'.repeat(64), type: 'image/jpeg', size: 10, thumbnailHash: thumbHash };
    const pdfRef: AttachmentRef = { hash: pdfHash, type: 'application/pdf', size: PDF_TEXT.length, name: 'r.pdf' };
    await db.put('records', documentRecord([photoRef, pdfRef]));

    expect(await downloadThumbnails(db, server)).toMatchObject({ downloaded: 1, onItsWay: 0 });
    expect(server.downloads).toEqual([thumbHash]);
    expect(await db.get('attachments', pdfHash)).toBeUndefined();
  });

  it('a PDF opened online is kept for offline use, counted in the budget like a full photo', async () => {
    const db = await freshDb();
    const server = new MemoryServer();
    const pdfHash = await server.seed(new TextEncoder().encode(PDF_TEXT), 'application/pdf');

    const entry = await fetchFullImage(db, server, pdfHash);
    expect(entry?.blob.type).toBe('application/pdf');
    expect(await entry!.blob.text()).toBe(PDF_TEXT);
    const stored = (await db.get('attachments', pdfHash))!;
    expect(isKeptOffline(stored)).toBe(true);
    expect((await keptOffline(db)).bytes).toBe(PDF_TEXT.length);

    // Held now: a second open is served from this device.
    await fetchFullImage(db, server, pdfHash);
    expect(server.downloads).toEqual([pdfHash]);
    // Not on the server yet: null ("File still on its way").
    expect(await fetchFullImage(db, server, 'b'.repeat(64))).toBeNull();
  });
});
