/**
 * Sign-in accounts follow the synced `user` records. Whoever changed a
 * record (an admin here, an admin at a hub during an outage, a conflict
 * resolution, a pull from the cloud), the account is rewritten from it in
 * the same transaction; disabling, a new password or removal ends the
 * person's sessions. When two accounts come to share an email, one holds it
 * for sign-in and the other waits in an open conflict for an admin.
 */
import { draftConflict, ROLES, type ConflictDraft, type FieldMeta, type RecordState, type Role } from '@lifeline/core';
import type { ServerContext } from '../context';
import type { Queryable } from '../db/database';
import { keyOf, loadRecords } from '../db/records';
import { destroySessionsOfUser } from '../db/sessions';
import * as users from '../db/users';
import { chooseEmailHolder } from '../domain/email-claims';

/** A password hash that matches no password (a record that never carried one). */
const NO_PASSWORD = '!';

function toAccount(record: RecordState, communityId: string): users.AccountState | null {
  const f = record.fields;
  if (typeof f.email !== 'string' || f.email === '') return null;
  return {
    id: record.entityId,
    communityId,
    email: f.email,
    displayName: typeof f.displayName === 'string' && f.displayName !== '' ? f.displayName : f.email,
    role: (ROLES as readonly string[]).includes(f.role as string) ? (f.role as Role) : 'volunteer',
    disabled: f.disabled === true,
    passwordHash: typeof f.passwordHash === 'string' ? f.passwordHash : NO_PASSWORD,
    emailStamp: record.stamps.email ?? null,
    removed: record.deletedAt !== null,
  };
}

/**
 * Rewrite the accounts of these user records and settle who holds each email
 * they touch. Returns conflicts to record for accounts of this community that
 * lost a shared email. `known` holds records changed in this transaction but
 * not stored yet.
 */
export async function projectAccounts(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  records: RecordState[],
  known: ReadonlyMap<string, RecordState> = new Map(),
): Promise<ConflictDraft[]> {
  const accounts = records
    .filter((record) => record.entityType === 'user')
    .map((record) => toAccount(record, communityId))
    .filter((account): account is users.AccountState => account !== null);
  if (accounts.length === 0) return [];

  const before = await users.findAccountsForUpdate(
    tx,
    communityId,
    accounts.map((a) => a.id),
  );
  const emails = new Set<string>();
  for (const account of accounts) {
    emails.add(account.email.toLowerCase());
    const previous = before.get(account.id);
    if (previous) emails.add(previous.email.toLowerCase());
  }
  await users.lockEmails(tx, [...emails]);
  await users.upsertAccounts(tx, accounts);

  const drafts: ConflictDraft[] = [];
  for (const email of [...emails].sort()) {
    const claims = await users.emailClaims(tx, email);
    const holder = chooseEmailHolder(
      claims.map((claim) => {
        const previous = before.get(claim.userId);
        // Accounts rewritten just now were written held: what counts is whether they held it before.
        const wasHolder = previous
          ? !previous.held && !previous.removed && previous.email.toLowerCase() === email
          : !claim.held && !accounts.some((a) => a.id === claim.userId);
        return { ...claim, wasHolder };
      }),
    );
    await users.setEmailHolder(tx, email, holder);
    const losers = claims.filter((claim) => claim.userId !== holder && claim.communityId === communityId);
    if (holder && losers.length > 0) {
      const holderClaim = claims.find((claim) => claim.userId === holder)!;
      drafts.push(...(await duplicateEmailConflicts(tx, communityId, holderClaim, losers, known)));
    }
  }

  for (const account of accounts) {
    const previous = before.get(account.id);
    if (!previous) continue;
    const endsSessions =
      (account.disabled && !previous.disabled) ||
      (account.removed && !previous.removed) ||
      account.passwordHash !== previous.passwordHash;
    if (endsSessions) await destroySessionsOfUser(tx, account.id);
  }
  if (drafts.length > 0) ctx.log.warn({ conflicts: drafts.length }, 'accounts share an email: an admin must settle it');
  return drafts;
}

/**
 * One conflict per held account, on its `email` field: both claims side by
 * side. Its id comes from the two email writes, so the hub and the cloud that
 * both notice it record one conflict. A holder in another community is named
 * by nothing but the email.
 */
async function duplicateEmailConflicts(
  tx: Queryable,
  communityId: string,
  holder: users.EmailClaimRow,
  losers: users.EmailClaimRow[],
  known: ReadonlyMap<string, RecordState>,
): Promise<ConflictDraft[]> {
  const keys = [holder, ...losers]
    .filter((claim) => claim.communityId === communityId)
    .map((claim) => ({ entityType: 'user', entityId: claim.userId }));
  const stored = await loadRecords(
    tx,
    communityId,
    keys.filter((key) => !known.has(keyOf(key))),
  );
  const recordOf = (userId: string) => known.get(`user/${userId}`) ?? stored.get(`user/${userId}`);
  const holderRecord = holder.communityId === communityId ? recordOf(holder.userId) : undefined;
  const drafts: ConflictDraft[] = [];
  for (const loser of losers) {
    const loserRecord = recordOf(loser.userId);
    if (!loserRecord?.stamps.email) continue;
    const holderSide = holderRecord?.stamps.email
      ? { value: holderRecord.fields.email, stamp: holderRecord.stamps.email, meta: metaOf(holderRecord) }
      : {
          value: loserRecord.fields.email,
          stamp: holder.emailStamp ?? loserRecord.stamps.email,
          meta: { changeId: null, author: null, origin: null, clientTime: null, base: null },
        };
    drafts.push(
      draftConflict(loserRecord, 'email', [
        holderSide,
        { value: loserRecord.fields.email, stamp: loserRecord.stamps.email, meta: metaOf(loserRecord) },
      ]),
    );
  }
  return drafts;
}

function metaOf(record: RecordState): FieldMeta {
  return record.meta.email ?? { changeId: null, author: null, origin: null, clientTime: null, base: null };
}
