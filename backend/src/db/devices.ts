import type { Queryable } from './database';

export interface DeviceRow {
  id: string;
  communityId: string;
  name: string;
  kind: 'hub';
  status: 'active' | 'suspended';
  createdAt: string;
  lastSeenAt: string | null;
}

const COLUMNS = `id::text, community_id::text AS "communityId", name, kind, status, created_at AS "createdAt",
  last_seen_at AS "lastSeenAt"`;

export async function insertDevice(
  db: Queryable,
  device: { id: string; communityId: string; name: string; kind: 'hub'; apiKeyHash: string; createdBy: string },
): Promise<DeviceRow> {
  const { rows } = await db.query<DeviceRow>(
    `INSERT INTO devices (id, community_id, name, kind, api_key_hash, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [device.id, device.communityId, device.name, device.kind, device.apiKeyHash, device.createdBy],
  );
  return rows[0]!;
}

export async function listDevices(db: Queryable, communityId: string): Promise<DeviceRow[]> {
  const { rows } = await db.query<DeviceRow>(
    `SELECT ${COLUMNS} FROM devices d WHERE d.community_id = $1 ORDER BY d.created_at, d.id`,
    [communityId],
  );
  return rows;
}

export async function findDeviceByKeyHash(db: Queryable, apiKeyHash: string): Promise<DeviceRow | null> {
  const { rows } = await db.query<DeviceRow>(`SELECT ${COLUMNS} FROM devices WHERE api_key_hash = $1`, [apiKeyHash]);
  return rows[0] ?? null;
}

export async function setDeviceStatus(
  db: Queryable,
  communityId: string,
  id: string,
  status: DeviceRow['status'],
): Promise<DeviceRow | null> {
  const { rows } = await db.query<DeviceRow>(
    `UPDATE devices SET status = $3 WHERE community_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [communityId, id, status],
  );
  return rows[0] ?? null;
}

export async function deleteDevice(db: Queryable, communityId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM devices WHERE community_id = $1 AND id = $2`, [communityId, id]);
  return rowCount > 0;
}

/** At most one write a minute per device: last-seen is informative, not worth a write per request. */
export async function touchDevice(db: Queryable, id: string): Promise<void> {
  await db.query(
    `UPDATE devices SET last_seen_at = now()
      WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < now() - interval '1 minute')`,
    [id],
  );
}
