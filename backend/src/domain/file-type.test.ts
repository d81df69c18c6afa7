import { describe, expect, it } from 'vitest';
import { contentDisposition, safeFilename, sniffFileType } from './file-type';

const bytes = (...parts: Array<string | number[]>) =>
  Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? [...Buffer.from(part, 'latin1')] : part)));

const HASH = 'ab'.repeat(32);

describe('sniffFileType', () => {
  it.each([
    ['a JPEG', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF'), 'image/jpeg'],
    ['a PNG', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 'IHDR'), 'image/png'],
    ['a WebP', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
    ['a PDF', bytes('%PDF-1.7\n%'), 'application/pdf'],
    ['a JPEG of exactly its 3 magic bytes', bytes([0xff, 0xd8, 0xff]), 'image/jpeg'],
  ])('when the bytes are %s, then that type', (_what, head, type) => {
    expect(sniffFileType(head)).toBe(type);
  });

  it.each([
    ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
    ['SVG with an XML prolog', bytes('<?xml version="1.0"?><svg/>')],
    ['HTML', bytes('<!doctype html><script>alert(1)</script>')],
    ['plain text', bytes('hello, world')],
    ['a PDF not at the start', bytes(' %PDF-1.7')],
    ['a RIFF that is not WebP (WAV)', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')],
    ['a truncated WebP header', bytes('RIFF', [0x24, 0, 0, 0], 'WEB')],
    ['a truncated PNG signature', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a])],
    ['two JPEG magic bytes', bytes([0xff, 0xd8])],
    ['GIF (not accepted)', bytes('GIF89a')],
    ['nothing', bytes()],
  ])('when the bytes are %s, then no accepted type', (_what, head) => {
    expect(sniffFileType(head)).toBeNull();
  });
});

describe('safeFilename', () => {
  it.each([
    ['report.pdf', 'application/pdf', 'report.pdf'],
    ['Report.PDF', 'application/pdf', 'Report.PDF'],
    ['page.html', 'application/pdf', 'page.html.pdf'],
    ['photo.jpeg', 'image/jpeg', 'photo.jpeg'],
    ['photo', 'image/webp', 'photo.webp'],
    ['../../etc/passwd', 'application/pdf', 'passwd.pdf'],
    ['C:\\Users\\ana\\map.png', 'image/png', 'map.png'],
    ['bad\u0000\r\nname.png', 'image/png', 'badname.png'],
    ['invoice\u202Efdp.exe', 'application/pdf', 'invoicefdp.exe.pdf'],
    ['  ..hidden.pdf. ', 'application/pdf', 'hidden.pdf'],
    [null, 'application/pdf', `attachment-${HASH.slice(0, 12)}.pdf`],
    ['...', 'image/png', `attachment-${HASH.slice(0, 12)}.png`],
  ] as const)('when the name is %j for %s, then %j', (name, type, expected) => {
    expect(safeFilename(name, type, HASH)).toBe(expected);
  });
});

describe('contentDisposition', () => {
  it('when the file is an image, then inline; when a PDF, then a download', () => {
    expect(contentDisposition('image/png', 'map.png', HASH)).toBe(
      `inline; filename="map.png"; filename*=UTF-8''map.png`,
    );
    expect(contentDisposition('application/pdf', 'plan.pdf', HASH)).toMatch(/^attachment; filename="plan\.pdf"/);
  });

  it('when the name has quotes, non-ASCII letters or percent signs, then the fallback is plain ASCII and the UTF-8 form exact', () => {
    const header = contentDisposition('application/pdf', 'Straße "Nord" 100%(1)\'s.pdf', HASH);
    expect(header).toBe(
      `attachment; filename="Stra_e _Nord_ 100_(1)'s.pdf"; filename*=UTF-8''Stra%C3%9Fe%20%22Nord%22%20100%25%281%29%27s.pdf`,
    );
    // Only printable ASCII in a header value, and nothing that ends the quoted string early.
    expect(header).toMatch(/^[\x20-\x7e]+$/);
    expect(decodeURIComponent(header.split("UTF-8''")[1]!)).toBe('Straße "Nord" 100%(1)\'s.pdf');
  });
});
