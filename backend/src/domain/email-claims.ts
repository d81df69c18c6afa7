/**
 * Who signs in with an email that two accounts came to share (each side of
 * an outage created one). Pure, so every replica that holds the same records
 * makes the same choice.
 */
export interface EmailClaim {
  userId: string;
  communityId: string;
  /** Stamp of the account record's email field: when the claim was made. */
  emailStamp: string | null;
  /** It held the email for sign-in before this decision. */
  wasHolder: boolean;
}

/**
 * Within one community the earlier claim holds the email (by stamp, then id),
 * which the hub and the cloud decide alike. Across communities the account
 * that already held it keeps it: another community's hub must never be able
 * to take over a sign-in that is not its own.
 */
export function chooseEmailHolder(claims: EmailClaim[]): string | null {
  const incumbent = claims.find((claim) => claim.wasHolder);
  const pool = incumbent ? claims.filter((claim) => claim.communityId === incumbent.communityId) : claims;
  let holder: EmailClaim | undefined;
  for (const claim of pool) {
    if (!holder || compareClaims(claim, holder) < 0) holder = claim;
  }
  return holder?.userId ?? null;
}

function compareClaims(a: EmailClaim, b: EmailClaim): number {
  const stampA = a.emailStamp ?? '';
  const stampB = b.emailStamp ?? '';
  if (stampA !== stampB) return stampA < stampB ? -1 : 1;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}
