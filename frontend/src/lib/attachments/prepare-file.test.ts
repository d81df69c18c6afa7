/** A PDF made ready for a document: checked to be a PDF, within the size limit, hashed, kept byte for byte. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FILE_MAX_BYTES, FILE_NAME_MAX, preparePdf } from './prepare-file';

const PDF_TEXT = '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('preparePdf', () => {
  it('keeps the bytes as they are, named by their SHA-256, with the name and no thumbnail', async () => {
    const bytes = new TextEncoder().encode(PDF_TEXT);
    // The picker's type is not trusted either way: the bytes decide, and the kept blob is typed as a PDF.
    const prepared = await preparePdf(new Blob([bytes], { type: '' }), 'Water points.pdf');

    expect(prepared.ref).toEqual({
      hash: sha256(bytes),
      type: 'application/pdf',
      size: bytes.length,
      name: 'Water points.pdf',
    });
    expect(new Uint8Array(await prepared.blob.blob.arrayBuffer())).toEqual(bytes);
    expect(prepared.blob).toMatchObject({
      hash: sha256(bytes),
      type: 'application/pdf',
      size: bytes.length,
      name: 'Water points.pdf',
      role: 'full',
      uploaded: false,
    });
    expect(prepared.blob.blob.type).toBe('application/pdf');
  });

  it('refuses what does not start with %PDF-, whatever it is called', async () => {
    for (const content of ['<html><script>alert(1)</script></html>', '%PDF', ' %PDF-1.4', '']) {
      await expect(preparePdf(new Blob([content], { type: 'application/pdf' }), 'fake.pdf')).rejects.toThrow(
        'This file is not a PDF. Only PDF files can be added here.',
      );
    }
  });

  it('refuses a PDF larger than the limit (10 MiB by default), and takes one of exactly the limit', async () => {
    const head = new TextEncoder().encode('%PDF-1.7\n');
    const sized = (size: number) => {
      const bytes = new Uint8Array(size);
      bytes.set(head);
      return new Blob([bytes]);
    };
    await expect(preparePdf(sized(FILE_MAX_BYTES + 1), 'big.pdf')).rejects.toThrow(
      'This file is too large (10.0 MB): at most 10.0 MB.',
    );
    expect((await preparePdf(sized(FILE_MAX_BYTES), 'limit.pdf')).ref.size).toBe(FILE_MAX_BYTES);
    await expect(preparePdf(sized(2000), 'small.pdf', 1000)).rejects.toThrow('too large');
  });

  it('keeps names the record can carry: at most 200 characters (the extension kept), never empty', async () => {
    const pdf = new Blob([PDF_TEXT]);
    const long = `${'a'.repeat(250)}.pdf`;
    const kept = (await preparePdf(pdf, long)).ref.name;
    expect(kept).toHaveLength(FILE_NAME_MAX);
    expect(kept).toMatch(/^a+\.pdf$/);
    expect((await preparePdf(pdf, '   ')).ref.name).toBe('document.pdf');
  });
});
