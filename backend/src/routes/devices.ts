import { uuidSchema } from '@lifeline/core';
import { Router, type Request } from 'express';
import type { ServerContext } from '../context';
import { listDevices } from '../db/devices';
import { requireUser } from '../http/authenticate';
import { parse } from '../http/validate';
import { deviceView, newDeviceSchema, registerDevice, removeDevice, setStatus } from '../services/devices';

const idParam = (req: Request) => parse(uuidSchema, req.params.id, 'id');

export function deviceRoutes(ctx: ServerContext): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const admin = requireUser(req, 'admin');
    res.status(201).json(await registerDevice(ctx, admin.communityId, admin.userId, parse(newDeviceSchema, req.body)));
  });

  router.get('/', async (req, res) => {
    const admin = requireUser(req, 'admin');
    res.json({ devices: (await listDevices(ctx.db, admin.communityId)).map(deviceView) });
  });

  router.post('/:id/suspend', async (req, res) => {
    const admin = requireUser(req, 'admin');
    res.json({ device: await setStatus(ctx, admin.communityId, idParam(req), 'suspended') });
  });

  router.post('/:id/resume', async (req, res) => {
    const admin = requireUser(req, 'admin');
    res.json({ device: await setStatus(ctx, admin.communityId, idParam(req), 'active') });
  });

  router.delete('/:id', async (req, res) => {
    const admin = requireUser(req, 'admin');
    await removeDevice(ctx, admin.communityId, idParam(req));
    res.status(204).end();
  });

  return router;
}
