/**
 * Communities, first-run setup and members. An account is written as its
 * synced `user` record (a change like any other, so a hub forwards it to the
 * cloud); the sign-in row follows from the record (services/accounts.ts).
 */
import { randomUUID } from 'node:crypto';
import { newId, ROLES, type PublicUser, type RecordState } from '@lifeline/core';
import { z } from 'zod';
import type { ServerContext } from '../context';
import { countUsers, insertCommunity, lockSetup, type Community } from '../db/communities';
import type { Queryable } from '../db/database';
import { keyOf, loadRecords, lockEntities } from '../db/records';
import * as users from '../db/users';
import { hashPassword } from '../domain/secrets';
import { AppError, conflict, notFound } from '../errors';
import { applyChanges } from './apply-changes';
import { seenEverything, serverChange } from './server-changes';

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

/**
 * Admin-facing view: the public user, whether the account is disabled, and
 * (extension) whether another account holds its email for sign-in.
 */
export function memberView(user: users.UserRow) {
  return { ...publicUser(user), disabled: user.disabled, createdAt: user.createdAt, duplicateEmail: user.held };
}

type NewUser = z.infer<typeof newUserSchema>;
type NewAccount = Omit<NewUser, 'password'> & { passwordHash: string };

/**
 * Write fields of one user record as a change by `actor`, then read the
 * account it produced. The entity is locked before it is read, so two admins
 * editing one person at once are a sequence, not a conflict.
 */
async function writeUserRecord(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  actor: string,
  userId: string,
  fields: Record<string, unknown>,
): Promise<users.UserRow> {
  const key = { entityType: 'user', entityId: userId };
  await lockEntities(tx, communityId, [key]);
  const current: RecordState | null = (await loadRecords(tx, communityId, [key])).get(keyOf(key)) ?? null;
  const change = serverChange(ctx, key, { op: 'upsert', fields }, seenEverything(current));
  const outcome = await applyChanges(ctx, tx, [{ change, index: 0 }], {
    communityId,
    author: actor,
    origin: ctx.serverId,
    clientId: `admin:${actor}`,
  });
  const result = outcome.results[0]?.result;
  if (result?.status === 'rejected') {
    throw new AppError(400, result.error?.code ?? 'invalid_user', result.error?.message ?? 'account not accepted');
  }
  const account = await users.findUserById(tx, userId);
  if (!account) throw new Error(`account ${userId} was not written`);
  return account;
}

async function createUserIn(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  input: NewAccount,
  actor?: string,
): Promise<users.UserRow> {
  await users.lockEmails(tx, [input.email]);
  if (await users.emailTaken(tx, input.email))
    throw conflict('email_taken', 'an account with this email already exists');
  const id = newId();
  return writeUserRecord(ctx, tx, communityId, actor ?? id, id, {
    email: input.email,
    displayName: input.displayName,
    role: input.role,
    disabled: false,
    passwordHash: input.passwordHash,
  });
}

/** First run: the community and its first admin, only while no user exists at all. */
export async function setup(ctx: ServerContext, input: z.infer<typeof setupSchema>): Promise<users.UserRow> {
  const passwordHash = await hashPassword(input.password);
  return ctx.db.transaction(async (tx) => {
    await lockSetup(tx);
    if ((await countUsers(tx)) > 0) throw conflict('already_set_up', 'this server is already set up: sign in instead');
    const community = await insertCommunity(tx, randomUUID(), input.community);
    return createUserIn(ctx, tx, community.id, { ...input, role: 'admin', passwordHash });
  });
}

export async function createCommunity(
  ctx: ServerContext,
  input: z.infer<typeof newCommunitySchema>,
): Promise<{ community: Community; user: users.UserRow }> {
  const passwordHash = await hashPassword(input.admin.password);
  return ctx.db.transaction(async (tx) => {
    const community = await insertCommunity(tx, randomUUID(), input.name);
    const user = await createUserIn(ctx, tx, community.id, { ...input.admin, role: 'admin', passwordHash });
    return { community, user };
  });
}

export async function createUser(
  ctx: ServerContext,
  communityId: string,
  input: NewUser,
  actor: string,
): Promise<users.UserRow> {
  const passwordHash = await hashPassword(input.password);
  return ctx.db.transaction((tx) => createUserIn(ctx, tx, communityId, { ...input, passwordHash }, actor));
}

export async function updateMember(
  ctx: ServerContext,
  communityId: string,
  userId: string,
  patch: z.infer<typeof userPatchSchema>,
  actor: string,
): Promise<users.UserRow> {
  const passwordHash = patch.password ? await hashPassword(patch.password) : undefined;
  return ctx.db.transaction(async (tx) => {
    const before = await users.findUserById(tx, userId);
    if (!before || before.communityId !== communityId) throw notFound('user');
    const wanted: Record<string, unknown> = {
      displayName: patch.displayName,
      role: patch.role,
      disabled: patch.disabled,
      passwordHash,
    };
    const current: Record<string, unknown> = { ...before };
    const fields = Object.fromEntries(
      Object.entries(wanted).filter(([field, value]) => value !== undefined && value !== current[field]),
    );
    if (Object.keys(fields).length === 0) return before;
    const staysActiveAdmin = (patch.role ?? before.role) === 'admin' && !(patch.disabled ?? before.disabled);
    if (before.role === 'admin' && !before.disabled && !staysActiveAdmin) {
      if ((await users.countActiveAdmins(tx, communityId, { excluding: userId })) === 0) {
        throw conflict('last_admin', 'a community needs at least one active admin');
      }
    }
    // Sessions end in the same transaction when the account is disabled or its password changes.
    return writeUserRecord(ctx, tx, communityId, actor, userId, fields);
  });
}
