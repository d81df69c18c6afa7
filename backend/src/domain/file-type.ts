/**
 * What a file really is, judged from its first bytes, never from what the
 * client says: only raster images (shown inline) and PDF (downloaded) are
 * accepted. SVG, HTML, text and everything else are refused, since a browser
 * could run script from them on our origin.
 */
import type { AttachmentType } from '@lifeline/core';

/** How many leading bytes the sniffer looks at. */
export const SNIFF_BYTES = 12;

const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

const SIGNATURES: Array<{ type: AttachmentType; parts: Array<{ at: number; bytes: number[] }> }> = [
  { type: 'image/jpeg', parts: [{ at: 0, bytes: [0xff, 0xd8, 0xff] }] },
  { type: 'image/png', parts: [{ at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] }] },
  // RIFF, then the 4-byte chunk length, then the form type.
  {
    type: 'image/webp',
    parts: [
      { at: 0, bytes: ascii('RIFF') },
      { at: 8, bytes: ascii('WEBP') },
    ],
  },
  { type: 'application/pdf', parts: [{ at: 0, bytes: ascii('%PDF-') }] },
];

/** The type of a file from its first bytes (at least SNIFF_BYTES of them when it has that many), or null. */
export function sniffFileType(head: Uint8Array): AttachmentType | null {
  const signature = SIGNATURES.find(({ parts }) =>
    parts.every(({ at, bytes }) => head.length >= at + bytes.length && bytes.every((byte, i) => head[at + i] === byte)),
  );
  return signature?.type ?? null;
}

const EXTENSIONS: Record<AttachmentType, readonly string[]> = {
  'image/jpeg': ['.jpg', '.jpeg'],
  'image/png': ['.png'],
  'image/webp': ['.webp'],
  'application/pdf': ['.pdf'],
};

// Control characters, and the bidirectional overrides that make "gpj.exe" read as "exe.jpg".
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A file name safe to hand to a browser's "save": no directories, no control
 * or direction-changing characters, and an extension that matches the
 * sniffed type (a PDF named "page.html" would open as HTML once saved).
 */
export function safeFilename(name: string | null, type: AttachmentType, hash: string): string {
  const base = (name ?? '')
    .split(/[/\\]/)
    .pop()!
    .replace(UNSAFE_CHARACTERS, '')
    .replace(/^[\s.]+|[\s.]+$/g, '')
    .slice(0, 200);
  const stem = base === '' ? `attachment-${hash.slice(0, 12)}` : base;
  const extensions = EXTENSIONS[type];
  return extensions.some((extension) => stem.toLowerCase().endsWith(extension)) ? stem : `${stem}${extensions[0]}`;
}

/**
 * `Content-Disposition` for serving an attachment: images inline, PDF as a
 * download; the name as a plain-ASCII fallback and RFC 5987 UTF-8.
 */
export function contentDisposition(type: AttachmentType, name: string | null, hash: string): string {
  const filename = safeFilename(name, type, hash);
  // Quotes, backslashes and % (some browsers decode %xx here) replaced; anything non-ASCII too.
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  const disposition = type === 'application/pdf' ? 'attachment' : 'inline';
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
