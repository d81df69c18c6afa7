/**
 * The assistant's wire shapes (DESIGN.md section 4): what `POST /api/assistant/ask`
 * streams or returns, and what `GET /api/assistant/providers` reports.
 * Shared by the server and the PWA.
 */

export const MODEL_PROVIDERS = ['groq', 'ollama'] as const;
export type ModelProviderName = (typeof MODEL_PROVIDERS)[number];
/** `extractive` is the answer made of the best passages when no model is reachable. */
export type ProviderName = ModelProviderName | 'extractive';

/**
 * A cited source. `n` is the number the answer cites as `[n]`. `title` is
 * plain text; `snippet` is an HTML-safe fragment: the passage text escaped,
 * with the matched words wrapped in `<mark>`…`</mark>` (the only markup it
 * ever contains).
 */
export interface Source {
  n: number;
  entityType: 'document' | 'update';
  entityId: string;
  title: string;
  /** The section of the document the passage comes from, when it has one. */
  heading: string | null;
  snippet: string;
}

/** What an answer is made of, in order: `meta`, then `token`s, then `done` or `error`. */
export type AnswerEvent =
  | { type: 'meta'; provider: ProviderName; sources: Source[] }
  | { type: 'token'; text: string }
  | { type: 'done'; provider: ProviderName; ms: number }
  | { type: 'error'; code: string; message: string };

export type ProviderState = 'up' | 'down' | 'unconfigured';

export interface ProviderStatus {
  name: ProviderName;
  state: ProviderState;
  lastError: string | null;
  /** Time to first token of the last answer this provider gave (health-check time before any answer). */
  latencyMs: number | null;
}
