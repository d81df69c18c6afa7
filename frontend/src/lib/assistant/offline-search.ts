/**
 * The assistant's stand-in while no server is reachable: score the documents
 * and updates already on this device against the question's words and show
 * the best passages. Highlights are returned as text segments, never HTML,
 * so the page builds them from text nodes and nothing in a record can run.
 */
import type { SyncRecord } from '@lifeline/core';

export interface Segment {
  text: string;
  mark: boolean;
}

export interface LocalHit {
  entityType: 'document' | 'update';
  entityId: string;
  title: string;
  score: number;
  passage: Segment[];
}

/** Words too common to say anything about relevance (English, since most documents here are). */
const STOP_WORDS = new Set(
  'a an and are as at be by can do does for from has have how i if in is it its me my of on or our so that the their there this to was we what when where which who why will with you your'.split(
    ' ',
  ),
);

const PASSAGE_CHARS = 240;
const TITLE_WEIGHT = 3;

export function terms(question: string): string[] {
  const words = question
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w));
  return [...new Set(words)];
}

/** Lower-cased, accents removed, the same length as the input, so offsets match the original text. */
function fold(text: string): string {
  let out = '';
  for (const ch of text) {
    const base = ch.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
    const lower = (base.length === ch.length ? base : ch).toLowerCase();
    out += lower.length === ch.length ? lower : ch;
  }
  return out;
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) n += 1;
  return n;
}

/** Splits text into plain and matched segments for every occurrence of any term. */
export function highlight(text: string, words: string[]): Segment[] {
  if (words.length === 0 || text === '') return text ? [{ text, mark: false }] : [];
  const folded = fold(text);
  const ranges: Array<[number, number]> = [];
  for (const word of words) {
    for (let at = folded.indexOf(word); at !== -1; at = folded.indexOf(word, at + word.length)) {
      ranges.push([at, at + word.length]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const segments: Segment[] = [];
  let cursor = 0;
  for (const [start, end] of ranges) {
    if (end <= cursor) continue;
    const from = Math.max(start, cursor);
    if (from > cursor) segments.push({ text: text.slice(cursor, from), mark: false });
    segments.push({ text: text.slice(from, end), mark: true });
    cursor = end;
  }
  if (cursor < text.length) segments.push({ text: text.slice(cursor), mark: false });
  return segments;
}

/** Markdown's punctuation out of a document's text, so a passage reads as prose. */
export function plainText(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^[ \t]{0,3}(#{1,6}|>|[-*+]|\d+\.)[ \t]+/gm, '')
    .replace(/(\*\*|__|\*|_|`+|~~)(?=\S)([^\n]*?\S)\1/g, '$2');
}

/** The window of the body with the most distinct terms in it, cut at word boundaries. */
export function bestPassage(body: string, words: string[], size = PASSAGE_CHARS): string {
  const text = body.replace(/\s+/g, ' ').trim();
  if (text.length <= size) return text;
  const folded = fold(text);
  let bestStart = 0;
  let bestScore = -1;
  const step = Math.max(20, Math.floor(size / 4));
  for (let start = 0; start < text.length; start += step) {
    const window = folded.slice(start, start + size);
    let score = 0;
    for (const word of words) if (window.includes(word)) score += 10 + count(window, word);
    if (score > bestScore) {
      bestScore = score;
      bestStart = start;
    }
    if (start + size >= text.length) break;
  }
  let start = bestStart;
  let end = Math.min(text.length, start + size);
  if (start > 0) {
    const space = text.indexOf(' ', start);
    if (space !== -1 && space < start + 30) start = space + 1;
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start + size / 2) end = space;
  }
  return `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
}

/**
 * Scores each live document and update: every occurrence of a term counts,
 * a term in the title counts more, and each distinct term found adds a bonus
 * so a record matching more of the question ranks above one repeating one word.
 */
export function searchRecords(records: SyncRecord[], question: string, limit = 5): LocalHit[] {
  const words = terms(question);
  if (words.length === 0) return [];
  const hits: LocalHit[] = [];
  for (const record of records) {
    if (record.deletedAt) continue;
    if (record.entityType !== 'document' && record.entityType !== 'update') continue;
    const title = String(record.fields.title ?? '');
    const raw = String(record.fields.body ?? '');
    const body = record.entityType === 'document' ? plainText(raw) : raw;
    const foldedTitle = fold(title);
    const foldedBody = fold(body);
    let score = 0;
    let distinct = 0;
    for (const word of words) {
      const inTitle = count(foldedTitle, word);
      const inBody = count(foldedBody, word);
      if (inTitle + inBody > 0) distinct += 1;
      score += inTitle * TITLE_WEIGHT + Math.min(inBody, 10);
    }
    if (score === 0) continue;
    score += distinct * 5;
    hits.push({
      entityType: record.entityType,
      entityId: record.entityId,
      title,
      score,
      passage: highlight(bestPassage(body, words), words),
    });
  }
  hits.sort((a, b) => b.score - a.score || a.title.localeCompare(b.title));
  return hits.slice(0, limit);
}
