import { error } from '@sveltejs/kit';
import { getDb } from '$lib/app';
import { getView, pendingFor, userNames } from '$lib/data/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, depends }) => {
  depends('app:data');
  const db = await getDb();
  const update = await getView(db, 'update', params.id);
  if (!update) error(404, 'This update is not on this device. It may not have synced yet.');
  const conflicts = (await db.getAllFromIndex('records', 'byType', 'conflict')).filter(
    (c) => c.fields.entityId === params.id,
  );
  return { update, conflicts, pending: await pendingFor(db, 'update', params.id), names: await userNames(db) };
};
