import { error } from '@sveltejs/kit';
import { getDb } from '$lib/app';
import { getView } from '$lib/data/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, depends }) => {
  depends('app:data');
  const document = await getView(await getDb(), 'document', params.id);
  if (!document || document.deletedAt) error(404, 'This document is not on this device.');
  return { document };
};
