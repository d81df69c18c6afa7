/**
 * Sign-in accounts: the `users` table, kept equal to the synced `user`
 * records (services/accounts.ts). Email is unique among accounts that can
 * sign in; a duplicate made during an outage is kept but `held`.
 */
import type { Role } from '@lifeline/core';
import type { Queryable } from './database';

export interface UserRow {
  id: string;
  communityId: string;
  email: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  passwordHash: string;
  createdAt: string;
  /** Another account holds this email for sign-in; an admin settles it. */
  held: boolean;
}

const COLUMNS = `u.id::text, u.community_id::text AS "communityId", u.email, u.display_name AS "displayName", u.role,
  u.disabled, u.password_hash AS "passwordHash", u.created_at AS "createdAt", u.held`;

/** The account that signs in with this email (never a held or removed one). */
export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${COLUMNS} FROM users u WHERE lower(u.email) = lower($1) AND NOT u.held AND NOT u.removed`,
    [email],
  );
  return rows[0] ?? null;
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users u WHERE u.id = $1 AND NOT u.removed`, [id]);
  return rows[0] ?? null;
}

export async function listUsers(db: Queryable, communityId: string): Promise<UserRow[]> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${COLUMNS} FROM users u WHERE u.community_id = $1 AND NOT u.removed ORDER BY lower(u.display_name), u.id`,
    [communityId],
  );
  return rows;
}

export async function countActiveAdmins(
  tx: Queryable,
  communityId: string,
  options: { excluding?: string } = {},
): Promise<number> {
  const { rows } = await tx.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM users
      WHERE community_id = $1 AND role = 'admin' AND NOT disabled AND NOT removed AND id IS DISTINCT FROM $2::uuid`,
    [communityId, options.excluding ?? null],
  );
  return rows[0]?.count ?? 0;
}

/** Serialise everything that decides who holds these emails, across communities and instances. */
export async function lockEmails(tx: Queryable, emails: string[]): Promise<void> {
  const names = [...new Set(emails.map((email) => `lifeline:email:${email.toLowerCase()}`))];
  if (names.length === 0) return;
  await tx.query(
    `SELECT pg_advisory_xact_lock(k) FROM (
       SELECT DISTINCT hashtextextended(name, 0) AS k FROM unnest($1::text[]) AS name ORDER BY 1
     ) AS ordered`,
    [names],
  );
}

/** Whether an account that can sign in already uses this email. */
export async function emailTaken(tx: Queryable, email: string): Promise<boolean> {
  const { rows } = await tx.query<{ taken: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1) AND NOT held AND NOT removed) AS taken`,
    [email],
  );
  return rows[0]?.taken ?? false;
}

/** An account as its `user` record describes it. */
export interface AccountState {
  id: string;
  communityId: string;
  email: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  passwordHash: string;
  /** Stamp of the record's email field: the earlier claim holds a shared email. */
  emailStamp: string | null;
  removed: boolean;
}

export interface StoredAccount {
  id: string;
  email: string;
  disabled: boolean;
  passwordHash: string;
  held: boolean;
  removed: boolean;
}

/** The accounts of this community with these ids, locked until the transaction ends. */
export async function findAccountsForUpdate(
  tx: Queryable,
  communityId: string,
  ids: string[],
): Promise<Map<string, StoredAccount>> {
  const { rows } = await tx.query<StoredAccount>(
    `SELECT id::text, email, disabled, password_hash AS "passwordHash", held, removed
       FROM users WHERE community_id = $1 AND id = ANY($2::uuid[]) FOR UPDATE`,
    [communityId, ids],
  );
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * Write accounts as their records say. Each is written `held` (so no write
 * can break the sign-in uniqueness); `setEmailHolder` then releases the one
 * that holds each email. An id that belongs to another community is never
 * overwritten (a hub cannot take over an account elsewhere): those are skipped.
 */
export async function upsertAccounts(tx: Queryable, accounts: AccountState[]): Promise<void> {
  if (accounts.length === 0) return;
  await tx.query(
    `INSERT INTO users (id, community_id, email, display_name, role, disabled, password_hash, email_stamp, removed, held)
     SELECT a.id, a.community_id, a.email, a.display_name, a.role, a.disabled, a.password_hash, a.email_stamp,
            a.removed, true
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::text[], $8::text[],
                   $9::boolean[])
         AS a(id, community_id, email, display_name, role, disabled, password_hash, email_stamp, removed)
     ON CONFLICT (id) DO UPDATE SET
       email = EXCLUDED.email, display_name = EXCLUDED.display_name, role = EXCLUDED.role,
       disabled = EXCLUDED.disabled, password_hash = EXCLUDED.password_hash, email_stamp = EXCLUDED.email_stamp,
       removed = EXCLUDED.removed, held = true, updated_at = now()
     WHERE users.community_id = EXCLUDED.community_id`,
    [
      accounts.map((a) => a.id),
      accounts.map((a) => a.communityId),
      accounts.map((a) => a.email),
      accounts.map((a) => a.displayName),
      accounts.map((a) => a.role),
      accounts.map((a) => a.disabled),
      accounts.map((a) => a.passwordHash),
      accounts.map((a) => a.emailStamp),
      accounts.map((a) => a.removed),
    ],
  );
}

export interface EmailClaimRow {
  userId: string;
  communityId: string;
  emailStamp: string | null;
  held: boolean;
}

/** Every account (not removed) that uses this email, in any community. */
export async function emailClaims(tx: Queryable, email: string): Promise<EmailClaimRow[]> {
  const { rows } = await tx.query<EmailClaimRow>(
    `SELECT id::text AS "userId", community_id::text AS "communityId", email_stamp AS "emailStamp", held
       FROM users WHERE lower(email) = lower($1) AND NOT removed`,
    [email],
  );
  return rows;
}

/** Hold this email for one account; every other account using it is held. */
export async function setEmailHolder(tx: Queryable, email: string, holderId: string | null): Promise<void> {
  await tx.query(`UPDATE users SET held = true WHERE lower(email) = lower($1) AND id IS DISTINCT FROM $2::uuid`, [
    email,
    holderId,
  ]);
  if (holderId) await tx.query(`UPDATE users SET held = false WHERE id = $1 AND NOT removed`, [holderId]);
}
