/**
 * Source snippets arrive as HTML escaped by the server with matches in
 * `<mark>`. The page trusts nothing it did not build: only `mark`, with no
 * attributes, survives.
 */
import DOMPurify from 'dompurify';

export function safeSnippet(snippet: string): string {
  return DOMPurify.sanitize(snippet, { ALLOWED_TAGS: ['mark'], ALLOWED_ATTR: [], KEEP_CONTENT: true });
}
