/**
 * Retrieval: Postgres full-text search over the passages of a community's
 * documents and recent updates (table `assistant_passages`, kept by a
 * trigger on `records`). Works the same on `pg` and embedded PGlite.
 */
import type { Queryable } from '../db/database';

/** Updates older than this (by last change) are left out: a month-old "road closed" is no answer. */
export const RECENT_UPDATE_DAYS = 30;
export const DEFAULT_PASSAGE_LIMIT = 5;
/** Longest passage text put in a prompt, in characters (passages are cut at about 1,200). */
const MAX_PASSAGE_CHARS = 1500;

// ts_headline's selection markers: control characters removed from the text
// first, so only ts_headline can have put them there.
const MARK_START = '\u0002';
const MARK_END = '\u0003';

export interface Passage {
  entityType: 'document' | 'update';
  entityId: string;
  title: string;
  heading: string | null;
  /** The passage text, plain, for the prompt. */
  content: string;
  /** The best fragment, HTML-escaped, matches wrapped in `<mark>`. */
  snippet: string;
  /** The same fragment as plain text, for the extractive answer. */
  excerpt: string;
  rank: number;
  /** For updates: kind and status, so the model knows an incident is resolved. */
  kind: string | null;
  status: string | null;
  updatedAt: string;
}

interface PassageRow {
  entity_type: 'document' | 'update';
  entity_id: string;
  title: string;
  heading: string | null;
  content: string;
  headline: string;
  rank: number;
  kind: string | null;
  status: string | null;
  updated_at: string;
}

/**
 * The best passages for a question, best first. Two queries are tried at once:
 * `websearch_to_tsquery` (all words, honouring "quotes", `or` and `-minus`), and
 * the same words OR-ed, because a question in natural language rarely has every
 * one of its words in the passage that answers it. Every passage shares a word
 * with the question; those matching the strict query rank first (so `-word`
 * demotes rather than excludes). `ts_headline` (slow) runs only on the rows kept.
 */
export async function searchPassages(
  db: Queryable,
  communityId: string,
  question: string,
  limit = DEFAULT_PASSAGE_LIMIT,
): Promise<Passage[]> {
  const { rows } = await db.query<PassageRow>(
    `WITH q AS (
       SELECT websearch_to_tsquery('english', $2) AS strict,
              (SELECT string_agg(quote_literal(lexeme), ' | ')
                 FROM unnest(tsvector_to_array(to_tsvector('english', $2))) AS lexeme)::tsquery AS loose
     ),
     hits AS (
       SELECT p.entity_type, p.entity_id, p.ord, p.title, p.heading, p.content,
              (p.search @@ q.strict) AS exact,
              ts_rank_cd(p.search, q.loose, 1) AS rank
         FROM assistant_passages p, q
        WHERE p.community_id = $1
          AND p.search @@ q.loose
          AND (p.entity_type = 'document' OR p.source_updated_at > now() - make_interval(days => $4::int))
        ORDER BY exact DESC, rank DESC, p.entity_id, p.ord
        LIMIT $3::int
     )
     SELECT h.entity_type, h.entity_id::text AS entity_id, h.title, h.heading, h.content,
            h.rank::float8 AS rank, r.updated_at,
            CASE WHEN h.entity_type = 'update' THEN r.fields ->> 'kind' END AS kind,
            CASE WHEN h.entity_type = 'update' THEN r.fields ->> 'status' END AS status,
            coalesce(ts_headline('english', translate(h.content, $5::text, ''), q.loose,
              'StartSel=' || $6::text || ', StopSel=' || $7::text
                || ', MaxWords=35, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "'), '') AS headline
       FROM hits h
       CROSS JOIN q
       JOIN records r
         ON r.community_id = $1 AND r.entity_type = h.entity_type AND r.entity_id = h.entity_id
      WHERE r.deleted_at IS NULL
      ORDER BY h.exact DESC, h.rank DESC, h.entity_id, h.ord`,
    [communityId, question, limit, RECENT_UPDATE_DAYS, MARK_START + MARK_END, MARK_START, MARK_END],
  );
  return rows.map((row) => {
    const headline = row.headline.trim() === '' ? row.content.slice(0, 240) : row.headline;
    return {
      entityType: row.entity_type,
      entityId: row.entity_id,
      title: row.title,
      heading: row.heading,
      content: row.content.length > MAX_PASSAGE_CHARS ? `${row.content.slice(0, MAX_PASSAGE_CHARS)}…` : row.content,
      snippet: markedToHtml(headline),
      excerpt: stripMarks(headline),
      rank: row.rank,
      kind: row.kind,
      status: row.status,
      updatedAt: row.updated_at,
    };
  });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

/**
 * ts_headline's output is the document's own text, tags and all (it even
 * keeps `<img onerror=…>`), so it is escaped whole, and only then are our
 * markers turned into `<mark>`. Unbalanced markers cannot occur (ts_headline
 * writes them in pairs), but a stray one is dropped rather than left open.
 */
export function markedToHtml(marked: string): string {
  let html = '';
  let open = false;
  for (const part of splitMarks(marked)) {
    if (part === MARK_START) {
      if (!open) html += '<mark>';
      open = true;
    } else if (part === MARK_END) {
      if (open) html += '</mark>';
      open = false;
    } else {
      html += escapeHtml(part);
    }
  }
  return open ? `${html}</mark>` : html;
}

export function stripMarks(marked: string): string {
  return splitMarks(marked)
    .filter((part) => part !== MARK_START && part !== MARK_END)
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The text cut at every marker, markers kept as their own parts. */
function splitMarks(marked: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < marked.length; i += 1) {
    const char = marked[i]!;
    if (char === MARK_START || char === MARK_END) {
      if (i > from) parts.push(marked.slice(from, i));
      parts.push(char);
      from = i + 1;
    }
  }
  if (from < marked.length) parts.push(marked.slice(from));
  return parts;
}
