import type { Role } from '@lifeline/core';

/** Who is calling: a signed-in member (cookie session) or a hub (API key). */
export type Principal =
  | {
      kind: 'user';
      userId: string;
      communityId: string;
      role: Role;
      email: string;
      displayName: string;
      sessionId: string;
    }
  | { kind: 'hub'; deviceId: string; communityId: string; name: string };

/** The id written as `author`/`createdBy` for this caller's changes. */
export function authorId(principal: Principal): string {
  return principal.kind === 'user' ? principal.userId : `device:${principal.deviceId}`;
}
