/**
 * The assistant's wire shapes as the browser sees them (DESIGN.md section 4;
 * the server's own copy is backend/src/assistant/types.ts).
 */
export type ProviderName = 'groq' | 'ollama' | 'extractive';

/**
 * A cited source. `title` is plain text. `snippet` is escaped by the server
 * with matched words in `<mark>`; the page still sanitises it (mark only).
 */
export interface Source {
  n: number;
  entityType: 'document' | 'update';
  entityId: string;
  title: string;
  heading: string | null;
  snippet: string;
}

/** In order: `meta`, then `token`s, then `done` or `error`. */
export type AnswerEvent =
  | { type: 'meta'; provider: ProviderName; sources: Source[] }
  | { type: 'token'; text: string }
  | { type: 'done'; provider: ProviderName; ms: number }
  | { type: 'error'; code: string; message: string };

const PROVIDER_LABELS: Record<ProviderName, string> = {
  groq: 'Groq',
  ollama: 'Ollama on the hub',
  extractive: 'No model reachable — best passages from your documents',
};

export function providerLabel(provider: string): string {
  return PROVIDER_LABELS[provider as ProviderName] ?? provider;
}
