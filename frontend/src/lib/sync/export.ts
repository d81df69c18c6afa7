/** The last resort: everything not yet accepted by a server, as a file a person can keep or send. */
import type { AttentionEntry, OutboxEntry } from '$lib/db';

export function exportPayload(outbox: OutboxEntry[], attention: AttentionEntry[], clientId: string | null) {
  return {
    kind: 'lifeline-outbox-export',
    exportedAt: new Date().toISOString(),
    clientId,
    pending: outbox.map((entry) => entry.change),
    needsAttention: attention.map(({ change, error, at }) => ({ change, error, at })),
  };
}

export function downloadJson(filename: string, data: unknown): void {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
