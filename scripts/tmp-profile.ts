import { startTestServer } from '../tests/helpers/server';
import { createUpdate, seedCommunity } from '../tests/helpers/client';
import { push } from '../backend/src/services/sync';
const server = await startTestServer();
const seeded = await seedCommunity(server.url);
const ctx = server.server.ctx;
const times = new Map<string, number>();
const wrap = (q: any) => async (sql: string, params?: unknown[]) => { const t = performance.now(); try { return await q(sql, params); } finally { const k = sql.replace(/\s+/g, ' ').trim().slice(0, 50); times.set(k, (times.get(k) ?? 0) + performance.now() - t); } };
const origTx = ctx.db.transaction.bind(ctx.db);
(ctx.db as any).transaction = (work: any, opts: any) => origTx((tx: any) => work({ query: wrap(tx.query.bind(tx)) }), opts);
const fields = (i: number) => ({ kind: 'need', title: `Update ${i}: water and blankets needed at the community hall`, body: 'Volunteers report 20 people sheltering; bring drinking water, blankets and phone chargers.', priority: 'normal', status: 'open', tags: ['water', 'shelter'], location: { label: 'Community hall', lat: 51.5, lon: -0.12 } });
const principal = { kind: 'user', userId: seeded.volunteer.user.id, communityId: seeded.adminUser.communityId, role: 'volunteer', email: 'v', displayName: 'v', sessionId: 's' } as any;
let total = 0;
for (let b = 0; b < 20; b += 1) {
  const changes = Array.from({ length: 500 }, (_, i) => createUpdate('prof', fields(b * 500 + i)));
  const raw = JSON.parse(JSON.stringify(changes));
  const t = performance.now();
  await push(ctx, principal, 'prof', raw);
  total += performance.now() - t;
}
console.log('total per batch', (total / 20).toFixed(1), 'ms');
for (const [k, v] of [...times.entries()].sort((a, b) => b[1] - a[1])) console.log((v / 20).toFixed(1).padStart(7), 'ms  ', k);
await server.stop();
