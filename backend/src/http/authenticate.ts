/** Resolve the caller: `Authorization: Bearer <apiKey>` (hubs) or the cookie session (members). */
import { roleAtLeast, type Role } from '@lifeline/core';
import type { NextFunction, Request, Response } from 'express';
import type { ServerContext } from '../context';
import { findDeviceByKeyHash, touchDevice } from '../db/devices';
import { findUserById } from '../db/users';
import { hashApiKey } from '../domain/secrets';
import { AppError, forbidden, unauthorized } from '../errors';
import type { Principal } from '../principal';

export function authenticate(ctx: ServerContext) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw new AppError(401, 'invalid_authorization', 'use "Authorization: Bearer <apiKey>"');
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
