/** Hubs registered by admins: an API key shown once, stored as a digest. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ServerContext } from '../context';
import * as devices from '../db/devices';
import { hashApiKey, newApiKey } from '../domain/secrets';
import { notFound } from '../errors';

export const newDeviceSchema = z.object({
  name: z.string().trim().min(1, 'a name').max(100),
  kind: z.literal('hub'),
});

export function deviceView(device: devices.DeviceRow) {
  return {
    id: device.id,
    name: device.name,
    kind: device.kind,
    status: device.status,
    lastSeenAt: device.lastSeenAt,
    createdAt: device.createdAt,
  };
}

export async function registerDevice(
  ctx: ServerContext,
  communityId: string,
  createdBy: string,
  input: z.infer<typeof newDeviceSchema>,
) {
  const apiKey = newApiKey();
  const device = await devices.insertDevice(ctx.db, {
    id: randomUUID(),
    communityId,
    name: input.name,
    kind: input.kind,
    apiKeyHash: hashApiKey(apiKey),
    createdBy,
  });
  return { device: deviceView(device), apiKey };
}

export async function setStatus(ctx: ServerContext, communityId: string, id: string, status: 'active' | 'suspended') {
  const device = await devices.setDeviceStatus(ctx.db, communityId, id, status);
  if (!device) throw notFound('device');
  return deviceView(device);
}

export async function removeDevice(ctx: ServerContext, communityId: string, id: string): Promise<void> {
  if (!(await devices.deleteDevice(ctx.db, communityId, id))) throw notFound('device');
}
