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
}

const COLUMNS = `id::text, community_id::text AS "communityId", email, display_name AS "displayName", role, disabled,
  password_hash AS "passwordHash", created_at AS "createdAt"`;

export async function insertUser(
  tx: Queryable,
  user: Omit<UserRow, 'createdAt' | 'disabled'> & { disabled?: boolean },
): Promise<UserRow | null> {
  const { rows } = await tx.query<UserRow>(
    `INSERT INTO users (id, community_id, email, display_name, role, disabled, password_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT DO NOTHING
     RETURNING ${COLUMNS}`,
    [user.id, user.communityId, user.email, user.displayName, user.role, user.disabled ?? false, user.passwordHash],
  );
  return rows[0] ?? null;
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email]);
  return rows[0] ?? null;
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function listUsers(db: Queryable, communityId: string): Promise<UserRow[]> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${COLUMNS} FROM users u WHERE u.community_id = $1 ORDER BY lower(u.display_name), u.id`,
    [communityId],
  );
  return rows;
}

export async function updateUser(
  tx: Queryable,
  communityId: string,
  id: string,
  patch: { displayName?: string; role?: Role; disabled?: boolean; passwordHash?: string },
): Promise<UserRow | null> {
  const { rows } = await tx.query<UserRow>(
    `UPDATE users SET
       display_name = COALESCE($3, display_name),
       role = COALESCE($4, role),
       disabled = COALESCE($5, disabled),
       password_hash = COALESCE($6, password_hash),
       updated_at = now()
     WHERE community_id = $1 AND id = $2
     RETURNING ${COLUMNS}`,
    [
      communityId,
      id,
      patch.displayName ?? null,
      patch.role ?? null,
      patch.disabled ?? null,
      patch.passwordHash ?? null,
    ],
  );
  return rows[0] ?? null;
}

export async function countActiveAdmins(tx: Queryable, communityId: string): Promise<number> {
  const { rows } = await tx.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM users WHERE community_id = $1 AND role = 'admin' AND NOT disabled`,
    [communityId],
  );
  return rows[0]?.count ?? 0;
}

/**
 * On a hub: the account as the cloud's `user` record describes it, so members
 * can sign in here during an outage with their usual password.
 */
export async function upsertUserFromCloud(tx: Queryable, user: Omit<UserRow, 'createdAt'>): Promise<void> {
  await tx.query(
    `INSERT INTO users (id, community_id, email, display_name, role, disabled, password_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, display_name = EXCLUDED.display_name, role = EXCLUDED.role,
       disabled = EXCLUDED.disabled, password_hash = EXCLUDED.password_hash, updated_at = now()`,
    [user.id, user.communityId, user.email, user.displayName, user.role, user.disabled, user.passwordHash],
  );
}
