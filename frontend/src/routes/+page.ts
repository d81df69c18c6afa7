import { getDb } from '$lib/app';
import { listViews, newestFirst, newestViews } from '$lib/data/queries';
import type { PageLoad } from './$types';

/** What the feed shows before the rest has loaded: one screen and a bit. */
const FIRST_PAGE = 50;

/**
 * The newest updates come from an index at once; reading every update (ten
 * thousand on a busy device) is left to the page, after the first paint.
 */
export const load: PageLoad = async ({ depends }) => {
  depends('app:data');
  const db = await getDb();
  return {
    first: await newestViews(db, 'update', FIRST_PAGE),
    loadAll: async () => (await listViews(db, 'update')).sort(newestFirst),
  };
};
