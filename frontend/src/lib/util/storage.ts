/** Persistent storage and quota: the outbox must not be evicted, and people should hear before the disk is full. */
export interface StorageUse {
  usage: number;
  quota: number;
  persisted: boolean;
  nearlyFull: boolean;
}

export const NEARLY_FULL = 0.8;

export async function requestPersistence(): Promise<boolean> {
  if (!navigator.storage?.persist) return false;
  if (await navigator.storage.persisted()) return true;
  return navigator.storage.persist().catch(() => false);
}

export async function storageUse(): Promise<StorageUse | null> {
  if (!navigator.storage?.estimate) return null;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const persisted = (await navigator.storage.persisted?.()) ?? false;
  return { usage, quota, persisted, nearlyFull: quota > 0 && usage / quota > NEARLY_FULL };
}

/**
 * Whether `bytes` more would fit as far as the browser's estimate tells
 * (true when it cannot tell: the write itself is the last word).
 */
export async function roomFor(bytes: number): Promise<{ fits: boolean; free: number | null }> {
  if (!navigator.storage?.estimate) return { fits: true, free: null };
  const { usage = 0, quota = 0 } = await navigator.storage.estimate().catch(() => ({ usage: 0, quota: 0 }));
  if (quota <= 0) return { fits: true, free: null };
  const free = Math.max(0, quota - usage);
  return { fits: bytes <= free, free };
}
