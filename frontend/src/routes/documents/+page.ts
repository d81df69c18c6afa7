import { getDb } from '$lib/app';
import { listViews } from '$lib/data/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends }) => {
  depends('app:data');
  const documents = await listViews(await getDb(), 'document');
  return { documents: documents.sort((a, b) => String(a.fields.title).localeCompare(String(b.fields.title))) };
};
