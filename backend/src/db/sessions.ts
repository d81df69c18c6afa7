import session from 'express-session';
import type { Database, Queryable } from './database';

const DAY_MS = 24 * 60 * 60 * 1000;
const TOUCH_EVERY_MS = 5 * 60 * 1000;
const MAX_REMEMBERED = 50_000;

/**
 * express-session store in Postgres: every instance serves every session,
 * and logout (destroy) revokes it everywhere at once.
 */
export class PostgresSessionStore extends session.Store {
  private readonly lastTouched = new Map<string, number>();

  constructor(private readonly db: Database) {
    super();
  }

  private remember(sid: string, at: number): void {
    if (this.lastTouched.size >= MAX_REMEMBERED) this.lastTouched.clear();
    this.lastTouched.set(sid, at);
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    this.db
      .query<{ sess: session.SessionData }>(`SELECT sess FROM sessions WHERE sid = $1 AND expires_at > now()`, [sid])
      .then(({ rows }) => callback(null, rows[0]?.sess ?? null), callback);
  }

  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    this.remember(sid, Date.now());
    const userId = (sess as { userId?: string }).userId ?? null;
    this.db
      .query(
        `INSERT INTO sessions (sid, sess, user_id, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, user_id = EXCLUDED.user_id, expires_at = EXCLUDED.expires_at`,
        [sid, JSON.stringify(sess), userId, expiry(sess)],
      )
      .then(
        () => callback?.(),
        (error: unknown) => callback?.(error),
      );
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.lastTouched.delete(sid);
    this.db.query(`DELETE FROM sessions WHERE sid = $1`, [sid]).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  /**
   * Sliding expiry without a write per request: a session touched here in the
   * last few minutes keeps its stored expiry (30 days out, give or take minutes).
   * Fewer write transactions also keep sync pulls' visibility horizon moving.
   */
  override touch(sid: string, sess: session.SessionData, callback?: () => void): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(sid) ?? 0) < TOUCH_EVERY_MS) {
      callback?.();
      return;
    }
    this.remember(sid, now);
    this.db.query(`UPDATE sessions SET expires_at = $2 WHERE sid = $1`, [sid, expiry(sess)]).then(
      () => callback?.(),
      () => callback?.(),
    );
  }
}

function expiry(sess: session.SessionData): string {
  const expires = sess.cookie?.expires;
  return (expires ? new Date(expires) : new Date(Date.now() + DAY_MS)).toISOString();
}

export async function destroySessionsOfUser(db: Queryable, userId: string): Promise<void> {
  await db.query(`DELETE FROM sessions WHERE user_id = $1`, [userId]);
}

export async function deleteExpiredSessions(db: Database): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM sessions WHERE expires_at <= now()`);
  return rowCount;
}
