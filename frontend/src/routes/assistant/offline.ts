/** Offline stand-in for the assistant: the documents and updates on this device, pending edits included. */
import { getDb } from '$lib/app';
import { listViews } from '$lib/data/queries';
import { searchRecords, type LocalHit } from '$lib/assistant/offline-search';

export async function searchDevice(question: string): Promise<LocalHit[]> {
  const db = await getDb();
  const [documents, updates] = await Promise.all([listViews(db, 'document'), listViews(db, 'update')]);
  return searchRecords([...documents, ...updates], question);
}
