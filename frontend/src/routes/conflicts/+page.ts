import { getDb } from '$lib/app';
import { userNames } from '$lib/data/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends }) => {
  depends('app:data');
  const db = await getDb();
  const all = await db.getAllFromIndex('records', 'byType', 'conflict');
  const open = all.filter((c) => c.fields.status === 'open' && c.deletedAt === null);
  // The record each conflict is about, for its title and current value.
  const subjects = await Promise.all(
    open.map((c) => db.get('records', [String(c.fields.entityType), String(c.fields.entityId)])),
  );
  return {
    conflicts: open.map((conflict, i) => ({ conflict, subject: subjects[i] ?? null })),
    names: await userNames(db),
  };
};
