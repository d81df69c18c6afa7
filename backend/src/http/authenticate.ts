/** Resolve the caller: `Authorization: Bearer <apiKey>` (hubs) or the cookie session (members). */
import { roleAtLeast, type Role } from '@lifeline/core';
import type { NextFunction, Request, Response } from 'express';
import type { ServerContext } from '../context';
import { timingSafeEqual } from 'node:crypto';
import { findDeviceByKeyHash, touchDevice } from '../db/devices';
import { readMeta } from '../db/server-meta';
import { UNKNOWN_COMMUNITY, UPSTREAM_COMMUNITY_KEY } from '../upstream/worker';
import { findUserById } from '../db/users';
import { hashApiKey } from '../domain/secrets';
import { AppError, forbidden, unauthorized } from '../errors';
import type { Principal } from '../principal';

export function authenticate(ctx: ServerContext) {
  // Hashed once: compared (in constant time) with the digest of every presented key.
  const ownKeyDigest = ctx.config.upstream ? Buffer.from(hashApiKey(ctx.config.upstream.apiKey)) : undefined;
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw new AppError(401, 'invalid_authorization', 'use "Authorization: Bearer <apiKey>"');
      if (ownKeyDigest && timingSafeEqual(Buffer.from(hashApiKey(match[1]!)), ownKeyDigest)) {
        req.principal = await selfPrincipal(ctx, req);
        return next();
      }
      const device = await findDeviceByKeyHash(ctx.db, hashApiKey(match[1]!));
      if (!device) {
        ctx.metrics.authFailures.inc({ reason: 'api_key' });
        throw new AppError(401, 'invalid_api_key', 'this API key is not valid');
      }
      if (device.status !== 'active') throw forbidden('this device is suspended', 'device_suspended');
      await touchDevice(ctx.db, device.id);
      req.principal = { kind: 'hub', deviceId: device.id, communityId: device.communityId, name: device.name };
      return next();
    }
    const userId = req.session?.userId;
    if (userId) {
      const user = await findUserById(ctx.db, userId);
      if (!user || user.disabled) {
        await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
      } else {
        req.principal = {
          kind: 'user',
          userId: user.id,
          communityId: user.communityId,
          role: user.role,
          email: user.email,
          displayName: user.displayName,
          sessionId: req.sessionID,
        };
      }
    }
    next();
  };
}

/**
 * A hub's operator (deploy-local.sh) holds the hub's own cloud key: it may
 * read this hub's sync status with it, nothing else.
 */
async function selfPrincipal(ctx: ServerContext, req: Request): Promise<Principal> {
  if (req.method !== 'GET' || req.path !== '/sync/status') {
    throw forbidden("the hub's own key only reads GET /api/sync/status here");
  }
  const communityId = (await readMeta(ctx.db, UPSTREAM_COMMUNITY_KEY)) ?? UNKNOWN_COMMUNITY;
  return { kind: 'hub', deviceId: 'self', communityId, name: 'this hub' };
}

export function requirePrincipal(req: Request): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

export function requireUser(req: Request, minimum: Role = 'volunteer'): Principal & { kind: 'user' } {
  const principal = requirePrincipal(req);
  if (principal.kind !== 'user') throw forbidden('this endpoint is for signed-in members');
  if (!roleAtLeast(principal.role, minimum)) throw forbidden(`this needs the ${minimum} role`);
  return principal;
}

export function requireHubOrAdmin(req: Request): Principal {
  const principal = requirePrincipal(req);
  if (principal.kind === 'user' && principal.role !== 'admin') throw forbidden('this needs an admin or a hub key');
  return principal;
}
