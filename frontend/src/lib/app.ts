/** Browser singletons: the database and the API, shared by every screen. */
import { createApiClient } from '$lib/api/client';
import { endpoints } from '$lib/api/endpoints';
import { createAttachmentTransport } from '$lib/attachments/transport';
import { openLifelineDb, type LifelineDb } from '$lib/db';

export const api = endpoints(createApiClient());
export const attachments = createAttachmentTransport();

export function getDb(): Promise<LifelineDb> {
  return openLifelineDb();
}
