/** The one place the IndexedDB database is opened, with versioned upgrades. */
import { openDB, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { LifelineSchema, MetaKey, MetaValues } from './schema';

export type * from './schema';
export type LifelineDb = IDBPDatabase<LifelineSchema>;

export const DB_NAME = 'lifeline';
export const DB_VERSION = 5;

const opened = new Map<string, Promise<LifelineDb>>();

/**
 * Each version's upgrade runs once, in order, so a device that skipped
 * releases still ends up with the current schema and keeps its outbox.
 */
export function openLifelineDb(name = DB_NAME): Promise<LifelineDb> {
  let db = opened.get(name);
  if (!db) {
    db = openDB<LifelineSchema>(name, DB_VERSION, {
      upgrade(database, oldVersion, _newVersion, transaction) {
        if (oldVersion < 1) {
          const records = database.createObjectStore('records', { keyPath: ['entityType', 'entityId'] });
          records.createIndex('byType', 'entityType');
          const outbox = database.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
          outbox.createIndex('byEntity', ['change.entityType', 'change.entityId']);
          database.createObjectStore('meta');
        }
        if (oldVersion < 2) {
          database.createObjectStore('needsAttention', { keyPath: 'changeId' });
          database.createObjectStore('syncLog', { keyPath: 'id', autoIncrement: true });
        }
        if (oldVersion < 3) {
          // The feed's first screen reads the newest records of a type without loading all of them.
          transaction.objectStore('records').createIndex('byTypeCreated', ['entityType', 'fields.createdAt']);
        }
        if (oldVersion < 4) {
          // What a re-pull after a server restore has brought back so far (sync/repull).
          database.createObjectStore('repullSeen', { keyPath: ['entityType', 'entityId'] });
        }
        if (oldVersion < 5) {
          // Photos: their bytes, by SHA-256, and whether the server has them (attachments/).
          database.createObjectStore('attachments', { keyPath: 'hash' });
        }
      },
      blocking() {
        // A newer tab wants to upgrade: step aside rather than block it forever.
        void db?.then((d) => d.close());
        opened.delete(name);
      },
    });
    opened.set(name, db);
  }
  return db;
}

export async function getMeta<K extends MetaKey>(db: LifelineDb, key: K): Promise<MetaValues[K] | undefined> {
  return (await db.get('meta', key)) as MetaValues[K] | undefined;
}

export async function setMeta<K extends MetaKey>(db: LifelineDb, key: K, value: MetaValues[K]): Promise<void> {
  await db.put('meta', value, key);
}

type MetaTx = IDBPTransaction<LifelineSchema, StoreNames<LifelineSchema>[], 'readwrite'>;

/** Meta access inside a wider transaction (outbox writes, pulls) so the clock and cursor move atomically. */
export async function getMetaIn<K extends MetaKey>(tx: MetaTx, key: K): Promise<MetaValues[K] | undefined> {
  return (await tx.objectStore('meta').get(key)) as MetaValues[K] | undefined;
}

export async function setMetaIn<K extends MetaKey>(tx: MetaTx, key: K, value: MetaValues[K]): Promise<void> {
  await tx.objectStore('meta').put(value, key);
}

/** A stable id for this browser profile: the push/pull clientId and the HLC node id. */
export async function ensureClientId(db: LifelineDb): Promise<string> {
  const tx = db.transaction('meta', 'readwrite');
  const existing = (await tx.store.get('clientId')) as string | undefined;
  if (existing) {
    await tx.done;
    return existing;
  }
  const id = crypto.randomUUID();
  await tx.store.put(id, 'clientId');
  await tx.done;
  return id;
}
