/** The assistant's Prometheus metrics, registered on the server's own registry. */
import { Counter, Histogram, type Registry } from 'prom-client';

const byRegistry = new WeakMap<Registry, AssistantMetrics>();

/** One set per registry: building the assistant twice on one server must not register twice. */
export function assistantMetrics(registry: Registry): AssistantMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = createAssistantMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

function createAssistantMetrics(registry: Registry) {
  return {
    answers: new Counter({
      name: 'lifeline_assistant_answers_total',
      help: 'Answers by the provider that produced them and how they ended (complete, failed mid-stream, aborted by the asker)',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'lifeline_assistant_fallbacks_total',
      help: 'Providers passed over for an answer, by provider and reason (breaker_open, timeout, error, ...)',
      labelNames: ['provider', 'reason'] as const,
      registers: [registry],
    }),
    answerSeconds: new Histogram({
      name: 'lifeline_assistant_answer_duration_seconds',
      help: 'Time from question to the end of the answer, by provider',
      labelNames: ['provider'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60],
      registers: [registry],
    }),
    firstTokenSeconds: new Histogram({
      name: 'lifeline_assistant_first_token_seconds',
      help: 'Time from sending the prompt to the first token, by provider',
      labelNames: ['provider'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
      registers: [registry],
    }),
    retrievalSeconds: new Histogram({
      name: 'lifeline_assistant_retrieval_duration_seconds',
      help: 'Full-text retrieval time per question',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}

export type AssistantMetrics = ReturnType<typeof createAssistantMetrics>;
