/**
 * One question and what came back: a streamed answer from the server, or,
 * with no server reachable, the best passages found on this device.
 */
import type { LocalHit } from './offline-search';
import type { ProviderName, Source } from './types';

export interface Exchange {
  id: number;
  question: string;
  mode: 'online' | 'offline';
  status: 'asking' | 'streaming' | 'done' | 'stopped' | 'failed';
  provider: ProviderName | null;
  sources: Source[];
  answer: string;
  error: string | null;
  /** Why the device was searched instead of the server. */
  offlineReason: string | null;
  hits: LocalHit[];
  ms: number | null;
}

let nextId = 1;

export function newExchange(question: string): Exchange {
  return {
    id: nextId++,
    question,
    mode: 'online',
    status: 'asking',
    provider: null,
    sources: [],
    answer: '',
    error: null,
    offlineReason: null,
    hits: [],
    ms: null,
  };
}
