/** The assistant's wire shapes live in core (shared with the PWA); the chat message is server-only. */
export {
  MODEL_PROVIDERS,
  type AnswerEvent,
  type ModelProviderName,
  type ProviderName,
  type ProviderState,
  type ProviderStatus,
  type Source,
} from '@lifeline/core';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}
