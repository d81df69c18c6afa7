import type { Queryable } from './database';

export interface Community {
  id: string;
  name: string;
  createdAt: string;
}

export async function insertCommunity(tx: Queryable, id: string, name: string): Promise<Community> {
  const { rows } = await tx.query<Community>(
    `INSERT INTO communities (id, name) VALUES ($1, $2) RETURNING id::text, name, created_at AS "createdAt"`,
    [id, name],
  );
  return rows[0]!;
}

export async function countUsers(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ count: number }>(`SELECT count(*)::int AS count FROM users`);
  return rows[0]?.count ?? 0;
}

/** Serialises first-run setup so two concurrent setups cannot both succeed. */
export async function lockSetup(tx: Queryable): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('lifeline:setup', 0))`);
}

/** A hub learns its community from the cloud and keeps the same id. */
export async function ensureCommunity(tx: Queryable, id: string, name: string): Promise<void> {
  await tx.query(
    `INSERT INTO communities (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
    [id, name],
  );
}

export async function findCommunity(db: Queryable, id: string): Promise<Community | null> {
  const { rows } = await db.query<Community>(
    `SELECT id::text, name, created_at AS "createdAt" FROM communities WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}
