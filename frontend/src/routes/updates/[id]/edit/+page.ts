import { error } from '@sveltejs/kit';
import { getDb } from '$lib/app';
import { getView } from '$lib/data/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params }) => {
  const update = await getView(await getDb(), 'update', params.id);
  if (!update || update.deletedAt) error(404, 'This update is not on this device.');
  return { update };
};
