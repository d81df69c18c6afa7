import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, ApiClient, seedCommunity } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;

beforeAll(async () => {
  server = await startTestServer({ OPERATOR_TOKEN: 'operator-secret-token' });
  seeded = await seedCommunity(server.url);
});
afterAll(async () => server.stop());

describe('first-run setup', () => {
  it('when a user already exists, then setup answers 409 and creates nothing', async () => {
    const again = await new ApiClient(server.url).post('/api/auth/setup', {
      community: 'Other',
      email: 'x@y.example',
      password: 'password-123',
      displayName: 'X',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_set_up');
    const users = await seeded.admin.get('/api/users');
    expect(users.body.users.map((u: { email: string }) => u.email)).not.toContain('x@y.example');
  });
});

describe('login, me and logout', () => {
  it('when credentials are right, then a HttpOnly SameSite=Lax session cookie is set and me answers', async () => {
    const client = new ApiClient(server.url);
    const login = await client.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ email: ADMIN.email, role: 'admin', displayName: ADMIN.displayName });
    expect(Object.keys(login.body.user).sort()).toEqual(['communityId', 'displayName', 'email', 'id', 'role']);
    const cookie = login.headers.getSetCookie().join(';');
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // plain HTTP here; Secure behind TLS
    const me = await client.get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(login.body.user.id);
  });

  it('when the email is unknown or the password wrong, then both answer the same 401', async () => {
    const client = new ApiClient(server.url);
    const unknown = await client.post('/api/auth/login', { email: 'nobody@eastside.example', password: 'whatever-1' });
    const wrong = await client.post('/api/auth/login', { email: ADMIN.email, password: 'wrong-password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('when logged out, then the session is revoked server-side even if the cookie is replayed', async () => {
    const client = new ApiClient(server.url);
    await client.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
    const stolen = client.sessionCookie!;
    const logout = await client.post('/api/auth/logout');
    expect(logout.status).toBe(204);
    const replay = await new ApiClient(server.url).get('/api/auth/me', { cookie: stolen });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('unauthorized');
  });

  it('when a member makes requests in quick succession, then the session row is not rewritten each time', async () => {
    const client = new ApiClient(server.url);
    await client.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
    const expiry = async () =>
      (
        await server.server.ctx.db.query<{ expires_at: string }>(
          `SELECT expires_at FROM sessions WHERE user_id = $1 ORDER BY expires_at DESC LIMIT 1`,
          [seeded.adminUser.id],
        )
      ).rows[0]?.expires_at;
    const before = await expiry();
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 3; i += 1) expect((await client.get('/api/auth/me')).status).toBe(200);
    expect(await expiry()).toBe(before);
  });

  it('when not signed in, then me is 401 in the contract error shape', async () => {
    const me = await new ApiClient(server.url).get('/api/auth/me');
    expect(me.status).toBe(401);
    expect(me.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it('when someone keeps guessing, then login is throttled with 429', async () => {
    const client = new ApiClient(server.url);
    const email = 'cora@eastside.example';
    let last = 0;
    for (let attempt = 0; attempt < 12; attempt += 1) {
      last = (await client.post('/api/auth/login', { email, password: `guess-${attempt}` })).status;
    }
    expect(last).toBe(429);
    const body = (await client.post('/api/auth/login', { email, password: 'password-123' })).body;
    expect(body.error.code).toBe('too_many_attempts');
  });
});

describe('cross-site protection', () => {
  it('when a cookie-authenticated write comes from another origin, then it is refused with 403', async () => {
    const push = await seeded.admin.post(
      '/api/users',
      { email: 'evil@x.example', password: 'password-123', displayName: 'Evil', role: 'admin' },
      { origin: 'https://evil.example' },
    );
    expect(push.status).toBe(403);
    expect(push.body.error.code).toBe('cross_site_request');
    const fetchSite = await seeded.admin.post('/api/auth/logout', {}, { 'sec-fetch-site': 'cross-site' });
    expect(fetchSite.status).toBe(403);
    expect((await seeded.admin.get('/api/auth/me')).status).toBe(200);
  });

  it('when the write comes from the same origin, then it is accepted', async () => {
    const url = new URL(server.url);
    const created = await seeded.admin.post(
      '/api/users',
      { email: 'same@eastside.example', password: 'password-123', displayName: 'Same', role: 'volunteer' },
      { origin: url.origin, 'sec-fetch-site': 'same-origin' },
    );
    expect(created.status).toBe(201);
  });
});

describe('users and roles', () => {
  it('when a volunteer lists or creates users, then 403; a coordinator may list', async () => {
    expect((await seeded.volunteer.client.get('/api/users')).status).toBe(403);
    expect(
      (
        await seeded.volunteer.client.post('/api/users', {
          email: 'v2@x.example',
          password: 'password-123',
          displayName: 'V2',
          role: 'admin',
        })
      ).status,
    ).toBe(403);
    const listed = await seeded.coordinator.client.get('/api/users');
    expect(listed.status).toBe(200);
    expect(listed.body.users.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(listed.body)).not.toMatch(/passwordHash|scrypt/);
  });

  it('when an email is taken, then 409; when fields are invalid, then 400', async () => {
    const dup = await seeded.admin.post('/api/users', {
      email: ADMIN.email.toUpperCase(),
      password: 'password-123',
      displayName: 'Dup',
      role: 'volunteer',
    });
    expect(dup.status).toBe(409);
    const bad = await seeded.admin.post('/api/users', {
      email: 'not-an-email',
      password: 'x',
      displayName: '',
      role: 'king',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  it('when an admin disables a member, then their sessions end and they cannot sign in', async () => {
    const created = await seeded.admin.post('/api/users', {
      email: 'temp@eastside.example',
      password: 'password-123',
      displayName: 'Temp',
      role: 'volunteer',
    });
    const temp = new ApiClient(server.url);
    await temp.post('/api/auth/login', { email: 'temp@eastside.example', password: 'password-123' });
    expect((await temp.get('/api/auth/me')).status).toBe(200);
    const patched = await seeded.admin.request('PATCH', `/api/users/${created.body.user.id}`, { disabled: true });
    expect(patched.status).toBe(200);
    expect(patched.body.user.disabled).toBe(true);
    expect((await temp.get('/api/auth/me')).status).toBe(401);
    const again = await temp.post('/api/auth/login', { email: 'temp@eastside.example', password: 'password-123' });
    expect(again.status).toBe(401);
  });

  it('when the last admin would be demoted, then 409', async () => {
    const demote = await seeded.admin.request('PATCH', `/api/users/${seeded.adminUser.id}`, { role: 'volunteer' });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('last_admin');
  });
});

describe('operator endpoint and community isolation', () => {
  it('when the operator token is wrong, then 401; when right, then a second community exists', async () => {
    const anonymous = new ApiClient(server.url);
    const body = {
      name: 'Westside',
      admin: { email: 'w@westside.example', password: 'password-123', displayName: 'Wes' },
    };
    expect((await anonymous.post('/api/communities', body, { authorization: 'Bearer wrong' })).status).toBe(401);
    const created = await anonymous.post('/api/communities', body, { authorization: 'Bearer operator-secret-token' });
    expect(created.status).toBe(201);
    expect(created.body.community.name).toBe('Westside');
    expect(created.body.user.role).toBe('admin');
  });

  it('when a member of another community asks for our records, users or conflicts, then they see none of them', async () => {
    const west = new ApiClient(server.url);
    expect((await west.post('/api/auth/login', { email: 'w@westside.example', password: 'password-123' })).status).toBe(
      200,
    );
    const users = await west.get('/api/users');
    expect(users.body.users.map((u: { email: string }) => u.email)).toEqual(['w@westside.example']);
    const pulled = await west.post('/api/sync/pull', { clientId: 'west', cursor: null });
    expect(pulled.body.records.every((r: { entityType: string }) => r.entityType === 'user')).toBe(true);
    expect(pulled.body.records).toHaveLength(1);
    const eastRecord = await west.get(`/api/records/user/${seeded.adminUser.id}`);
    expect(eastRecord.status).toBe(404);
  });
});

describe('operator endpoint when unset', () => {
  it('when OPERATOR_TOKEN is not configured, then POST /api/communities is 404', async () => {
    const other = await startTestServer();
    try {
      const reply = await new ApiClient(other.url).post(
        '/api/communities',
        { name: 'X', admin: { email: 'a@b.example', password: 'password-123', displayName: 'A' } },
        { authorization: 'Bearer anything' },
      );
      expect(reply.status).toBe(404);
    } finally {
      await other.stop();
    }
  });
});
