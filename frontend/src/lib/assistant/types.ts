/** The assistant's wire shapes (shared with the server through core) and how the PWA names providers. */
import type { ProviderName } from '@lifeline/core';

export type { AnswerEvent, ProviderName, Source } from '@lifeline/core';

const PROVIDER_LABELS: Record<ProviderName, string> = {
  groq: 'Groq',
  ollama: 'Ollama on the hub',
  extractive: 'No model reachable — best passages from your documents',
};

export function providerLabel(provider: string): string {
  return PROVIDER_LABELS[provider as ProviderName] ?? provider;
}
