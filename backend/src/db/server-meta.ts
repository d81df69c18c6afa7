import type { Queryable } from './database';

/**
 * A value created once per database and shared by every instance on it
 * (server id, generated session secret): the first writer wins the race.
 */
export async function getOrCreateMeta(db: Queryable, key: string, create: () => string): Promise<string> {
  await db.query(`INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [key, create()]);
  const { rows } = await db.query<{ value: string }>(`SELECT value FROM server_meta WHERE key = $1`, [key]);
  if (!rows[0]) throw new Error(`server_meta ${key} missing after insert`);
  return rows[0].value;
}

export async function readMeta(db: Queryable, key: string): Promise<string | null> {
  const { rows } = await db.query<{ value: string }>(`SELECT value FROM server_meta WHERE key = $1`, [key]);
  return rows[0]?.value ?? null;
}

export async function writeMeta(db: Queryable, key: string, value: string | null): Promise<void> {
  if (value === null) await db.query(`DELETE FROM server_meta WHERE key = $1`, [key]);
  else
    await db.query(
      `INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [key, value],
    );
}
