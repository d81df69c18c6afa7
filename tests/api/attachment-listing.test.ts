/**
 * The hub-only listing of complete attachments (GET /api/attachments?after=)
 * and the hub's "still to send" query, on real Postgres, at their edges:
 *
 * - The listing is ordered by (complete_tx xid8, complete_seq) and only shows
 *   transactions older than every one in flight. On a cluster of its own whose
 *   transaction counter is moved to just below a power of ten, uploads cross it
 *   (9,99x → 10,00x: a page sorted by the text of the id would put '10003'
 *   before '9998' and its cursor would jump over the rest), while a file
 *   completed by a transaction that began before the others and commits after
 *   them must still be listed after a cursor taken in between.
 * - With 100,000+ attachments inserted by SQL and no ANALYZE (autovacuum is
 *   off: the planner has no statistics), a page of either query must be read
 *   down its index, never by a sequential scan of attachments.
 */
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerContext } from '../../backend/src/context';
import type { Database, Queryable } from '../../backend/src/db/database';
import { attachmentsToSend } from '../../backend/src/db/attachment-upstream';
import { listCompleteAfter } from '../../backend/src/db/attachments';
import { listAttachments } from '../../backend/src/services/attachments';
import { asHub, asMember, AttachmentClient, makeJpeg, sha256 } from '../helpers/attachment-files';
import { seedCommunity } from '../helpers/client';
import { createCluster, nextPowerOfTen, type Cluster } from '../helpers/cluster';
import { startTestServer, type TestServer } from '../helpers/server';

interface Listed {
  hash: string;
}

/** Page through the hub listing from `cursor` until it says there is no more; answers what it saw and the cursor. */
async function listAll(hub: AttachmentClient, cursor: string | null, limit: number) {
  const seen: string[] = [];
  for (let more = true; more;) {
    const query = `limit=${limit}${cursor ? `&after=${cursor}` : ''}`;
    const reply = await hub.request('GET', `/api/attachments?${query}`);
    expect(reply.status).toBe(200);
    seen.push(...(reply.body.attachments as Listed[]).map((a) => a.hash));
    cursor = reply.body.cursor ?? cursor;
    more = reply.body.hasMore;
  }
  return { seen, cursor };
}

describe('the listing across a power of ten of transaction ids, with a late commit', () => {
  let cluster: Cluster;
  let server: TestServer;
  let databaseUrl: string;
  let members: AttachmentClient[];
  let hub: AttachmentClient;
  let communityId: string;

  beforeAll(async () => {
    cluster = await createCluster();
    databaseUrl = await cluster.createDatabase('lifeline_listing');
    server = await startTestServer({ DATABASE_URL: databaseUrl });
    const seeded = await seedCommunity(server.url);
    communityId = seeded.adminUser.communityId;
    members = [
      new AttachmentClient(server.url, asMember(seeded.volunteer.client.sessionCookie)),
      new AttachmentClient(server.url, asMember(seeded.admin.sessionCookie)),
    ];
    const { apiKey } = (await seeded.admin.post('/api/devices', { name: 'Listing hub', kind: 'hub' })).body;
    hub = new AttachmentClient(server.url, asHub(apiKey));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await cluster?.destroy();
  });

  /** Every complete attachment in the order the listing must give (read after everything committed). */
  async function completionOrder() {
    return cluster.query<{ hash: string; tx: string }>(
      `SELECT hash, complete_tx::text AS tx FROM attachments WHERE complete ORDER BY complete_tx, complete_seq`,
      [],
      'lifeline_listing',
    );
  }

  it('when uploads cross 10^k while a transaction that began first commits last, then paging hubs miss nothing and see it in completion order', async () => {
    const uploaded = new Set<string>();
    const upload = async (member: AttachmentClient) => {
      const file = makeJpeg(500);
      expect((await member.upload(file)).status).toBe(200);
      uploaded.add(sha256(file));
    };

    // Two files listed before anything else happens: the hub's cursor is after them.
    for (let i = 0; i < 2; i += 1) await upload(members[0]!);
    const before = await listAll(hub, null, 5);
    expect(before.seen).toHaveLength(2);

    const boundary = nextPowerOfTen((await cluster.currentTxId()) + 500n);
    await cluster.burnTransactionIdsTo(boundary - 10n);

    // A transaction that completes a file now (its id under the boundary) and commits only after all the rest.
    const slow = new pg.Client({ connectionString: databaseUrl });
    await slow.connect();
    const late = makeJpeg(300);
    const lateHash = sha256(late);
    await slow.query('BEGIN');
    await slow.query(`INSERT INTO attachments (community_id, hash, size, name) VALUES ($1, $2, $3, 'late.jpg')`, [
      communityId,
      lateHash,
      late.length,
    ]);
    await slow.query(
      `INSERT INTO attachment_chunks (community_id, hash, start, length, data) VALUES ($1, $2, 0, $3, $4)`,
      [communityId, lateHash, late.length, late],
    );
    await slow.query(
      `UPDATE attachments SET received = size, type = 'image/jpeg', complete = true, completed_at = now()
        WHERE community_id = $1 AND hash = $2`,
      [communityId, lateHash],
    );
    const lateTx = BigInt((await slow.query<{ id: string }>('SELECT pg_current_xact_id()::text AS id')).rows[0]!.id);
    expect(lateTx).toBeLessThan(boundary);

    // Four members upload at once while a hub pages through the listing with small pages.
    let cursor = before.cursor;
    const seen = [...before.seen];
    let writing = true;
    const lister = (async () => {
      while (writing) {
        const page = await listAll(hub, cursor, 4);
        seen.push(...page.seen);
        cursor = page.cursor;
      }
    })();
    await Promise.all(
      Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; i < 8; i += 1) await upload(members[writer % 2]!);
      }),
    );
    writing = false;
    await lister;
    // One more page with every upload committed and the slow transaction still open: the cursor stops short of it.
    const meanwhile = await listAll(hub, cursor, 4);
    seen.push(...meanwhile.seen);
    cursor = meanwhile.cursor;
    expect(seen).not.toContain(lateHash);

    await slow.query('COMMIT');
    await slow.end();
    uploaded.add(lateHash);
    const after = await listAll(hub, cursor, 4);
    seen.push(...after.seen);

    const order = await completionOrder();
    // The counter crossed the power of ten mid-load: files on both sides of it.
    expect(order.filter((row) => BigInt(row.tx) < boundary).length).toBeGreaterThanOrEqual(3);
    expect(order.filter((row) => BigInt(row.tx) >= boundary).length).toBeGreaterThanOrEqual(10);
    expect(order.map((row) => row.hash).sort()).toEqual([...uploaded].sort());
    // Every file exactly once, in completion order, the late one included.
    expect(seen).toEqual(order.map((row) => row.hash));

    // A new hub listing from scratch in small pages sees the same.
    expect((await listAll(hub, null, 3)).seen).toEqual(order.map((row) => row.hash));
  }, 120_000);
});

/** Plan nodes of an EXPLAIN (FORMAT JSON) plan, depth first. */
function planNodes(plan: Record<string, unknown>): Array<Record<string, unknown>> {
  const children = (plan.Plans as Array<Record<string, unknown>> | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

/**
 * Run one of the repository's queries as written, but explained: its SQL and
 * parameters go to EXPLAIN (FORMAT JSON) and the plan is kept.
 */
function explaining(db: Queryable): { db: Queryable; plans: Array<Record<string, unknown>> } {
  const plans: Array<Record<string, unknown>> = [];
  return {
    plans,
    db: {
      async query<Row>(sql: string, params?: unknown[]) {
        const { rows } = await db.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> }>(
          `EXPLAIN (FORMAT JSON) ${sql}`,
          params,
        );
        plans.push(rows[0]!['QUERY PLAN'][0]!.Plan);
        return { rows: [] as Row[], rowCount: 0 };
      },
    },
  };
}

/** The same for a whole database: every query, in a transaction or not, is explained instead (with the caller's transaction options). */
function explainingDatabase(db: Database): { db: Database; plans: Array<Record<string, unknown>> } {
  const plain = explaining(db);
  return {
    plans: plain.plans,
    db: {
      ...db,
      kind: db.kind,
      query: plain.db.query,
      transaction: (work, options) =>
        db.transaction(async (tx) => {
          const inner = explaining(tx);
          try {
            return await work(inner.db);
          } finally {
            plain.plans.push(...inner.plans);
          }
        }, options),
    },
  };
}

describe('a page of the listing and of the hub to-send query with 100,000+ attachments and no statistics', () => {
  let server: TestServer;
  let communityId: string;
  const ROWS = 100_000;

  beforeAll(async () => {
    server = await startTestServer();
    communityId = (await seedCommunity(server.url)).adminUser.communityId;
    const db = server.server.ctx.db;
    const other = randomUUID();
    await db.query(`INSERT INTO communities (id, name) VALUES ($1, 'Elsewhere')`, [other]);
    // Ten transactions of 10,000 here (ten listing transaction ids), 20,000 in another community;
    // all complete, every hundredth still to send to the cloud. No ANALYZE, and autovacuum is off.
    const insert = (community: string, from: number, count: number) =>
      db.query(
        `INSERT INTO attachments (community_id, hash, size, received, type, complete, completed_at, upstream_at)
         SELECT $1::uuid, encode(sha256(($1::uuid::text || i)::bytea), 'hex'), 1000, 1000, 'image/jpeg', true,
                now() - (200000 - i) * interval '1 second', CASE WHEN i % 100 = 0 THEN NULL ELSE now() END
           FROM generate_series($2::int, $2::int + $3::int - 1) AS i`,
        [community, from, count],
      );
    for (let batch = 0; batch < ROWS / 10_000; batch += 1) await insert(communityId, batch * 10_000, 10_000);
    await insert(other, 0, 20_000);
    const { rows } = await db.query<{ n: number; analyzed: boolean }>(
      `SELECT (SELECT count(*)::int FROM attachments) AS n,
              (SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables
                WHERE relname = 'attachments') AS analyzed`,
    );
    expect(rows[0]).toEqual({ n: ROWS + 20_000, analyzed: false });
  }, 120_000);
  afterAll(async () => server?.stop());

  /** The plan reads attachments through an index, never a sequential scan of it, and stops at the page. */
  function expectIndexed(plan: Record<string, unknown>) {
    const nodes = planNodes(plan);
    const scans = nodes.filter((node) => node['Relation Name'] === 'attachments');
    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) expect(scan['Node Type'], JSON.stringify(plan)).toMatch(/^Index( Only)? Scan$/);
    expect(nodes[0]!['Node Type']).toBe('Limit');
    // No sort of every matching row (an incremental sort over the index order is a sort of a few).
    expect(nodes.filter((node) => node['Node Type'] === 'Sort')).toEqual([]);
  }

  it('when a hub lists from the start or from a cursor in the middle, then the page is read down attachments_listing_order', async () => {
    const db = server.server.ctx.db;
    const middle = (
      await db.query<{ tx: string; seq: string }>(
        `SELECT complete_tx::text AS tx, complete_seq::text AS seq FROM attachments
          WHERE community_id = $1 ORDER BY complete_tx, complete_seq OFFSET 55000 LIMIT 1`,
        [communityId],
      )
    ).rows[0]!;
    for (const after of [null, middle]) {
      // Through the service, as GET /api/attachments runs it (its transaction options included).
      const explained = explainingDatabase(db);
      const ctx: ServerContext = { ...server.server.ctx, db: explained.db };
      await listAttachments(ctx, communityId, { after: after ? `${after.tx}.${after.seq}` : null, limit: 200 });
      expect(explained.plans).toHaveLength(1);
      expectIndexed(explained.plans[0]!);
      expect(JSON.stringify(explained.plans[0])).toContain('attachments_listing_order');
    }
    // And the page itself is right: 200 in order, right after the cursor.
    const page = await listCompleteAfter(db, communityId, middle, 200);
    expect(page).toHaveLength(200);
    expect(BigInt(page[0]!.position.seq)).toBe(BigInt(middle.seq) + 1n);
  });

  it('when a hub looks for files still to send (a few, or all 100,000 after the cloud was restored), then the page is read down attachments_to_send', async () => {
    const db = server.server.ctx.db;
    const few = explaining(db);
    await attachmentsToSend(few.db, communityId, 20);
    expectIndexed(few.plans[0]!);
    expect(JSON.stringify(few.plans[0])).toContain('attachments_to_send');
    expect(await attachmentsToSend(db, communityId, 2000)).toHaveLength(ROWS / 100);

    await db.query(`UPDATE attachments SET upstream_at = NULL WHERE community_id = $1`, [communityId]);
    const all = explaining(db);
    await attachmentsToSend(all.db, communityId, 20);
    expectIndexed(all.plans[0]!);
    expect(JSON.stringify(all.plans[0])).toContain('attachments_to_send');
    const page = await attachmentsToSend(db, communityId, 20);
    expect(page).toHaveLength(20);
    const hashOf = (i: number) =>
      createHash('sha256')
        .update(communityId + i)
        .digest('hex');
    // Oldest first.
    expect(page.map((row) => row.hash)).toEqual(Array.from({ length: 20 }, (_, i) => hashOf(i)));
  });
});
