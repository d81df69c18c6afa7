import { getDb } from '$lib/app';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends }) => {
  depends('app:data');
  const db = await getDb();
  const [log, attention, outbox] = await Promise.all([
    db.getAll('syncLog'),
    db.getAll('needsAttention'),
    db.getAll('outbox'),
  ]);
  return { log: log.reverse(), attention, outbox };
};
