/**
 * A simulated volunteer's browser: the PWA's own sync code (outbox, engine,
 * overlay) on an IndexedDB of its own (fake-indexeddb), a cookie jar per
 * server, and a device clock that may be hours wrong. It edits what it sees
 * the way the app's screens do, and syncs through the fault proxies.
 */
import 'fake-indexeddb/auto';
import type { Change, ChangeResult, SyncRecord } from '@lifeline/core';
import { createApiClient } from '$lib/api/client';
import { endpoints, type Endpoints } from '$lib/api/endpoints';
import { openLifelineDb, type LifelineDb } from '$lib/db';
import { runSync, type SyncReport } from '$lib/sync/engine';
import { changedFields, deleteRecord, writeFields } from '$lib/sync/outbox';
import { overlayAll, type ViewRecord } from '$lib/sync/overlay';
import { setWallClock } from '$lib/sync/wall-clock';
import type { Rng } from './random';

export type ServerSide = 'cloud' | 'hub';

export interface Person {
  userId: string;
  email: string;
  password: string;
}

/** Everything the model needs to know about what this browser did and was told. */
export interface BrowserLedger {
  /** Every change this browser made, by id. */
  made: Map<string, Change>;
  /** Every answer a server gave for each change (first push, re-sends, replays). */
  answers: Map<string, ChangeResult['status'][]>;
  /** Replayed batches whose answers were not all `duplicate`. */
  replayViolations: string[];
  /** HTTP 500 answers (a bug, never a fault we injected). */
  serverErrors: string[];
  syncs: number;
  failedSyncs: number;
  replays: number;
}

const KINDS = ['need', 'offer', 'incident', 'status'] as const;
const STATUSES = ['open', 'in_progress', 'resolved'] as const;
const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
const WORDS = ['water', 'tarp', 'generator', 'shelter', 'insulin', 'road', 'bridge', 'food', 'radio', 'blanket'];

export class SimulatedBrowser {
  readonly ledger: BrowserLedger = {
    made: new Map(),
    answers: new Map(),
    replayViolations: [],
    serverErrors: [],
    syncs: 0,
    failedSyncs: 0,
    replays: 0,
  };
  private db!: LifelineDb;
  private readonly cookies: Record<ServerSide, string> = { cloud: '', hub: '' };
  /** The last batch a server answered, and which side it was: a replay there must be all duplicates. */
  private lastAnsweredBatch: { side: ServerSide; changes: Change[] } | null = null;
  private signedInAt: Record<ServerSide, boolean> = { cloud: false, hub: false };

  constructor(
    readonly name: string,
    readonly person: Person,
    /** Where this browser syncs now; it may move between the hub and the cloud. */
    public side: ServerSide,
    /** How wrong this device's clock is. */
    readonly skewMs: number,
    /** The server addresses to use for a side (the cloud has two instances behind its name). */
    private readonly addressOf: (side: ServerSide) => string,
    private readonly rng: Rng,
    /** Page size of its pulls: small pages cross more page boundaries. */
    private readonly pullLimit = 200,
  ) {}

  async open(runId: string): Promise<void> {
    this.db = await openLifelineDb(`chaos-${runId}-${this.name}`);
    setWallClock(this.db, () => Date.now() + this.skewMs);
  }

  /** Records with the outbox laid over them, as the feed shows them. */
  async view(): Promise<ViewRecord[]> {
    const [records, outbox] = await Promise.all([
      this.db.getAllFromIndex('records', 'byType', 'update'),
      this.db.getAll('outbox'),
    ]);
    return overlayAll(records, outbox, 'update');
  }

  async replica(): Promise<SyncRecord[]> {
    return this.db.getAll('records');
  }

  async pending(): Promise<{ outbox: number; rejections: string[] }> {
    const attention = await this.db.getAll('needsAttention');
    return {
      outbox: await this.db.count('outbox'),
      rejections: attention.map(
        (entry) => `${entry.changeId}: ${entry.error.code} (${entry.error.message}) ${JSON.stringify(entry.change)}`,
      ),
    };
  }

  async create(): Promise<void> {
    const fields = {
      kind: this.rng.pick(KINDS),
      title: `${this.rng.pick(WORDS)} ${this.rng.pick(WORDS)} ${this.rng.int(1, 999)}`,
      priority: this.rng.pick(PRIORITIES),
    };
    this.remember(
      await writeFields(this.db, this.person.userId, {
        entityType: 'update',
        entityId: crypto.randomUUID(),
        fields,
        seen: {},
      }),
    );
  }

  /** Edit one or two fields of an update it can see, as the edit screen does (only what changed). */
  async edit(): Promise<boolean> {
    const visible = await this.view();
    if (visible.length === 0) return false;
    // In a crisis many people edit the same few records: most edits go to a hot set every device agrees on.
    const hot = [...visible].sort((a, b) => (a.entityId < b.entityId ? -1 : 1)).slice(0, 6);
    const shown = this.rng.chance(0.7) ? this.rng.pick(hot) : this.rng.pick(visible);
    const edited: Record<string, unknown> = { ...shown.fields };
    const draws = this.rng.int(1, 2);
    for (let i = 0; i < draws; i += 1) {
      const field = this.rng.pick(['title', 'status', 'priority', 'body', 'tags'] as const);
      if (field === 'title') edited.title = `${this.rng.pick(WORDS)} ${this.rng.int(1, 999)}`;
      if (field === 'status') edited.status = this.rng.pick(STATUSES);
      if (field === 'priority') edited.priority = this.rng.pick(PRIORITIES);
      if (field === 'body') edited.body = `${this.name}: ${this.rng.pick(WORDS)} needed at ${this.rng.int(1, 99)}`;
      if (field === 'tags') edited.tags = [this.rng.pick(WORDS)];
    }
    const changed = changedFields(shown.fields, edited);
    if (Object.keys(changed).length === 0) return false;
    this.remember(
      await writeFields(this.db, this.person.userId, {
        entityType: 'update',
        entityId: shown.entityId,
        fields: changed,
        seen: shown.stamps,
      }),
    );
    return true;
  }

  async remove(): Promise<boolean> {
    const visible = await this.view();
    if (visible.length === 0) return false;
    const shown = this.rng.pick(visible);
    this.remember(
      await deleteRecord(this.db, this.person.userId, {
        entityType: 'update',
        entityId: shown.entityId,
        seen: shown.stamps,
      }),
    );
    return true;
  }

  /** One sync, as the sync button does; a 401 means signing in again, as the person would. */
  async sync(reason: string): Promise<SyncReport> {
    this.ledger.syncs += 1;
    if (!this.signedInAt[this.side]) await this.signIn();
    const report = await runSync({
      db: this.db,
      api: this.api(),
      reason,
      pullLimit: this.pullLimit,
      pushBatchSize: 50,
    });
    if (!report.ok) this.ledger.failedSyncs += 1;
    if (report.authRequired) this.signedInAt[this.side] = false;
    return report;
  }

  /** Send the last answered batch again, raw: every change in it must come back `duplicate`. */
  async replay(): Promise<void> {
    // Another server may never have seen the batch yet: replays go where it was answered.
    const batch = this.lastAnsweredBatch?.side === this.side ? this.lastAnsweredBatch.changes : null;
    if (!batch || !this.signedInAt[this.side]) return;
    this.ledger.replays += 1;
    try {
      const { results } = await this.api().push(`replay-${this.name}`, batch);
      const wrong = results.filter((result) => result.status !== 'duplicate');
      if (wrong.length > 0) {
        this.ledger.replayViolations.push(
          `${this.name}: replayed ${batch.length}, answered ${wrong.map((r) => `${r.changeId}=${r.status}`).join(', ')}`,
        );
      }
    } catch {
      // a fault on the link: nothing learnt
    }
  }

  moveTo(side: ServerSide): void {
    this.side = side;
  }

  private async signIn(): Promise<void> {
    try {
      const client = createApiClient({
        baseUrl: this.addressOf(this.side),
        fetch: this.fetchFor(this.side),
        timeoutMs: 5000,
      });
      await endpoints(client).login(this.person.email, this.person.password);
      this.signedInAt[this.side] = true;
    } catch {
      // unreachable, or the hub has not learnt this account yet: the next sync tries again
    }
  }

  private api(): Endpoints {
    const base = endpoints(
      createApiClient({ baseUrl: this.addressOf(this.side), fetch: this.fetchFor(this.side), timeoutMs: 5000 }),
    );
    return {
      ...base,
      push: async (clientId, changes) => {
        const response = await base.push(clientId, changes);
        for (const result of response.results) {
          const list = this.ledger.answers.get(result.changeId) ?? [];
          list.push(result.status);
          this.ledger.answers.set(result.changeId, list);
        }
        if (!clientId.startsWith('replay-')) this.lastAnsweredBatch = { side: this.side, changes };
        return response;
      },
    };
  }

  /** fetch with this browser's cookie jar for one side, sending Origin as a page of that origin does. */
  private fetchFor(side: ServerSide): typeof fetch {
    return (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = new URL(String(input));
      const headers = new Headers(init.headers);
      headers.set('origin', url.origin);
      if (this.cookies[side]) headers.set('cookie', this.cookies[side]);
      const response = await fetch(input, { ...init, headers });
      const session = response.headers.getSetCookie().find((cookie) => cookie.startsWith('lifeline.sid='));
      if (session) this.cookies[side] = session.split(';')[0]!;
      if (response.status === 500) {
        this.ledger.serverErrors.push(
          `${this.name} ${init.method ?? 'GET'} ${url.pathname}: ${await response.clone().text()}`,
        );
      }
      return response;
    }) as typeof fetch;
  }

  private remember(change: Change): void {
    this.ledger.made.set(change.changeId, change);
  }
}
