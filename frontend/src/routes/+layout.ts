// The app is a client-only SPA: every screen reads IndexedDB, so it works offline.
import { redirect } from '@sveltejs/kit';
import { loadSession } from '$lib/state/session.svelte';
import type { LayoutLoad } from './$types';

export const ssr = false;
export const prerender = false;

const PUBLIC_PATHS = ['/login', '/setup'];

export const load: LayoutLoad = async ({ url, depends }) => {
  depends('app:session');
  const user = await loadSession();
  if (!user && !PUBLIC_PATHS.includes(url.pathname)) {
    redirect(307, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
  }
  return { user };
};
