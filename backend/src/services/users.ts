/** Communities, first-run setup, members and their synced `user` records. */
import { randomUUID } from 'node:crypto';
import { mergeChange, ROLES, type PublicUser, type Role } from '@lifeline/core';
import { z } from 'zod';
import type { ServerContext } from '../context';
import { countUsers, insertCommunity, lockSetup, type Community } from '../db/communities';
import type { Queryable } from '../db/database';
import { keyOf, loadRecords, saveRecords } from '../db/records';
import { destroySessionsOfUser } from '../db/sessions';
import * as users from '../db/users';
import { hashPassword } from '../domain/secrets';
import { conflict, notFound } from '../errors';
import { seenEverything, serverChange } from './apply-changes';

export const emailSchema = z.email('a valid email address').max(254);
export const passwordSchema = z.string().min(8, 'at least 8 characters').max(200);
export const displayNameSchema = z.string().trim().min(1, 'a name').max(100);
export const communityNameSchema = z.string().trim().min(1, 'a community name').max(200);

export const newUserSchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  displayName: displayNameSchema,
  role: z.enum(ROLES).default('volunteer'),
});

export const setupSchema = z.object({
  community: communityNameSchema,
  email: emailSchema,
  password: passwordSchema,
  displayName: displayNameSchema,
});

export const newCommunitySchema = z.object({
  name: communityNameSchema,
  admin: newUserSchema.omit({ role: true }),
});

export const userPatchSchema = z
  .object({
    displayName: displayNameSchema.optional(),
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
    password: passwordSchema.optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');

export function publicUser(user: users.UserRow): PublicUser {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    communityId: user.communityId,
  };
}

/** Admin-facing view: the public user plus whether the account is disabled. */
export function memberView(user: users.UserRow) {
  return { ...publicUser(user), disabled: user.disabled, createdAt: user.createdAt };
}

type NewUser = z.infer<typeof newUserSchema>;

async function createUserIn(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  input: NewUser,
): Promise<users.UserRow> {
  const created = await users.insertUser(tx, {
    id: randomUUID(),
    communityId,
    email: input.email,
    displayName: input.displayName,
    role: input.role,
    passwordHash: await hashPassword(input.password),
  });
  if (!created) throw conflict('email_taken', 'an account with this email already exists');
  await mirrorUserRecord(ctx, tx, created);
  return created;
}

/** First run: the community and its first admin, only while no user exists at all. */
export async function setup(ctx: ServerContext, input: z.infer<typeof setupSchema>): Promise<users.UserRow> {
  return ctx.db.transaction(async (tx) => {
    await lockSetup(tx);
    if ((await countUsers(tx)) > 0) throw conflict('already_set_up', 'this server is already set up: sign in instead');
    const community = await insertCommunity(tx, randomUUID(), input.community);
    return createUserIn(ctx, tx, community.id, { ...input, role: 'admin' });
  });
}

export async function createCommunity(
  ctx: ServerContext,
  input: z.infer<typeof newCommunitySchema>,
): Promise<{ community: Community; user: users.UserRow }> {
  return ctx.db.transaction(async (tx) => {
    const community = await insertCommunity(tx, randomUUID(), input.name);
    const user = await createUserIn(ctx, tx, community.id, { ...input.admin, role: 'admin' });
    return { community, user };
  });
}

export async function createUser(ctx: ServerContext, communityId: string, input: NewUser): Promise<users.UserRow> {
  return ctx.db.transaction((tx) => createUserIn(ctx, tx, communityId, input));
}

export async function updateMember(
  ctx: ServerContext,
  communityId: string,
  userId: string,
  patch: z.infer<typeof userPatchSchema>,
): Promise<users.UserRow> {
  const updated = await ctx.db.transaction(async (tx) => {
    const before = await users.findUserById(tx, userId);
    if (!before || before.communityId !== communityId) throw notFound('user');
    const after = await users.updateUser(tx, communityId, userId, {
      displayName: patch.displayName,
      role: patch.role,
      disabled: patch.disabled,
      passwordHash: patch.password ? await hashPassword(patch.password) : undefined,
    });
    if (!after) throw notFound('user');
    if (before.role === 'admin' && !before.disabled && (after.role !== 'admin' || after.disabled)) {
      if ((await users.countActiveAdmins(tx, communityId)) === 0) {
        throw conflict('last_admin', 'a community needs at least one active admin');
      }
    }
    await mirrorUserRecord(ctx, tx, after);
    return after;
  });
  if (updated.disabled || patch.password) await destroySessionsOfUser(ctx.db, userId);
  return updated;
}

/**
 * Keep the synced `user` record equal to the account: profile fields for
 * every member, the password hash for hubs (toWire hides it from others).
 */
async function mirrorUserRecord(ctx: ServerContext, tx: Queryable, user: users.UserRow): Promise<void> {
  const key = { entityType: 'user', entityId: user.id };
  const current = (await loadRecords(tx, user.communityId, [key])).get(keyOf(key)) ?? null;
  const profile: Record<string, unknown> = {
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    disabled: user.disabled,
    passwordHash: user.passwordHash,
  };
  const changed = Object.fromEntries(
    Object.entries(profile).filter(([field, value]) => current?.fields[field] !== value),
  );
  if (Object.keys(changed).length === 0) return;
  const change = serverChange(ctx, key, { op: 'upsert', fields: changed }, seenEverything(current));
  const outcome = mergeChange(current, change, {
    author: 'server',
    origin: ctx.serverId,
    nowMs: Date.now(),
    clampFutureStamps: false,
  });
  if (!outcome.ok) throw new Error(`user record for ${user.id} rejected: ${outcome.message}`);
  await saveRecords(tx, user.communityId, [outcome.record]);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
