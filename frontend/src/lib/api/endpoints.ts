/** Typed calls for each endpoint the app uses (DESIGN.md section 4). */
import type {
  Change,
  ConflictView,
  HistoryEntry,
  PublicUser,
  PullResponse,
  PushResponse,
  Role,
  SyncRecord,
} from '@lifeline/core';
import type { ApiClient } from './client';

export interface UserListItem extends PublicUser {
  disabled?: boolean;
  /** Another account holds this email for sign-in (both sides of an outage made one). */
  duplicateEmail?: boolean;
}

export interface Device {
  id: string;
  name: string;
  kind: string;
  status: string;
  lastSeenAt: string | null;
}

export interface SyncStatusResponse {
  serverId: string;
  mode: string;
  pendingConflicts: number;
  upstream?: { state: string; lastSyncAt: string | null; pendingUp: number; lastError: string | null };
}

export type { HistoryEntry } from '@lifeline/core';

export function endpoints(api: ApiClient) {
  return {
    me: () => api.get<{ user: PublicUser }>('/api/auth/me'),
    login: (email: string, password: string) => api.post<{ user: PublicUser }>('/api/auth/login', { email, password }),
    logout: () => api.post<void>('/api/auth/logout'),
    setup: (body: { community: string; email: string; password: string; displayName: string }) =>
      api.post<{ user: PublicUser }>('/api/auth/setup', body),
    push: (clientId: string, changes: Change[]) => api.post<PushResponse>('/api/sync/push', { clientId, changes }),
    pull: (clientId: string, cursor: string | null, limit: number) =>
      api.post<PullResponse>('/api/sync/pull', { clientId, cursor, limit }),
    syncStatus: () => api.get<SyncStatusResponse>('/api/sync/status'),
    record: (entityType: string, entityId: string) =>
      api.get<{ record: SyncRecord }>(`/api/records/${entityType}/${entityId}`),
    history: (entityType: string, entityId: string) =>
      api.get<{ history: HistoryEntry[] }>(`/api/records/${entityType}/${entityId}/history`),
    openConflicts: () => api.get<{ conflicts: ConflictView[] }>('/api/conflicts?status=open'),
    resolveConflict: (id: string, resolution: { value: unknown } | { deleted: true }) =>
      api.post<{ conflict: ConflictView; record: SyncRecord }>(`/api/conflicts/${id}/resolve`, resolution),
    users: () => api.get<{ users: UserListItem[] }>('/api/users'),
    createUser: (body: { email: string; password: string; displayName: string; role: Role }) =>
      api.post<{ user: UserListItem }>('/api/users', body),
    updateUser: (id: string, body: { role?: Role; disabled?: boolean; displayName?: string }) =>
      api.patch<{ user: UserListItem }>(`/api/users/${id}`, body),
    devices: () => api.get<{ devices: Device[] }>('/api/devices'),
    createDevice: (name: string) => api.post<{ device: Device; apiKey: string }>('/api/devices', { name, kind: 'hub' }),
    suspendDevice: (id: string) => api.post<unknown>(`/api/devices/${id}/suspend`),
    resumeDevice: (id: string) => api.post<unknown>(`/api/devices/${id}/resume`),
    removeDevice: (id: string) => api.del<unknown>(`/api/devices/${id}`),
  };
}

export type Endpoints = ReturnType<typeof endpoints>;
