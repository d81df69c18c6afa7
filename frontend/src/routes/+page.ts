import { getDb } from '$lib/app';
import { listViews, newestFirst } from '$lib/data/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends }) => {
  depends('app:data');
  const updates = await listViews(await getDb(), 'update');
  return { updates: updates.sort(newestFirst) };
};
