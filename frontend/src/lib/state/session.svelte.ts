/**
 * Who is signed in on this device. The user is remembered in IndexedDB so
 * the app opens offline; a 401 never clears it or the outbox, it only asks
 * the person to sign in again.
 */
import type { PublicUser, Role } from '@lifeline/core';
import { roleAtLeast } from '@lifeline/core';
import { getMeta, setMeta } from '$lib/db';
import { api, getDb } from '$lib/app';

class Session {
  user = $state<PublicUser | null>(null);
  loaded = $state(false);

  can(role: Role): boolean {
    return this.user !== null && roleAtLeast(this.user.role, role);
  }
}

export const session = new Session();

export async function loadSession(): Promise<PublicUser | null> {
  if (!session.loaded) {
    session.user = (await getMeta(await getDb(), 'user')) ?? null;
    session.loaded = true;
  }
  return session.user;
}

export async function rememberUser(user: PublicUser): Promise<void> {
  const db = await getDb();
  await setMeta(db, 'user', user);
  await setMeta(db, 'authRequired', false);
  session.user = user;
  session.loaded = true;
}

/** Signs out on the server; local data and unsent changes stay for the next sign-in. */
export async function signOut(): Promise<void> {
  await api.logout().catch(() => undefined);
  await setMeta(await getDb(), 'user', null);
  session.user = null;
}
