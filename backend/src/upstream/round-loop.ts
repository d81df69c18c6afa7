/**
 * The schedule both of a hub's loops keep (records in worker.ts, files in
 * attachments.ts): one round at a time; a kick during a round runs it again
 * straight after, so nothing that landed meanwhile waits a whole period; a
 * good round is followed by the next after `intervalMs`, a failed one after
 * an exponential backoff with jitter, and a kick never cuts a backoff short
 * (the cloud is down or refusing: asking faster would not help).
 */
import { backoffDelay } from '../domain/backoff';

export interface RoundHooks {
  /** One pass of the work; repeated at once while kicks arrived during it. */
  work: () => Promise<void>;
  succeeded: () => void;
  failed: (error: unknown, failures: number) => void;
  /** After every round, good or not (refresh counts, clear progress). */
  settled: () => Promise<void>;
}

export interface RoundTiming {
  intervalMs: number;
  backoffMaxMs: number;
  /** How long after a kick the round starts (lets a burst of writes land first). */
  kickDelayMs: number;
}

export class RoundLoop {
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Set before the work starts: a kick from its first synchronous steps must count as during the round. */
  private inRound = false;
  private rerun = false;
  private stopped = false;
  /** When the next round is due, for status pages. */
  nextAttemptAt: string | null = null;

  constructor(
    private readonly hooks: RoundHooks,
    private readonly timing: RoundTiming,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** No round starts after this; resolves when the one under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.inRound) {
      this.rerun = true;
      return;
    }
    if (this.failures === 0) this.schedule(this.timing.kickDelayMs);
  }

  /** A round now (or the one under way); resolves when it has ended. */
  runNow(): Promise<void> {
    clearTimeout(this.timer);
    return this.round();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.nextAttemptAt = new Date(Date.now() + delayMs).toISOString();
    this.timer = setTimeout(() => void this.round(), delayMs);
    this.timer.unref();
  }

  private round(): Promise<void> {
    if (this.running) return this.running;
    this.inRound = true;
    this.running = (async () => {
      try {
        do {
          this.rerun = false;
          await this.hooks.work();
        } while (this.rerun && !this.stopped);
        this.failures = 0;
        this.hooks.succeeded();
        this.schedule(this.timing.intervalMs);
      } catch (error) {
        this.failures += 1;
        this.hooks.failed(error, this.failures);
        this.schedule(backoffDelay(this.failures, { baseMs: 500, capMs: this.timing.backoffMaxMs, floorMs: 250 }));
      } finally {
        // The hook's own failure must not stop the schedule.
        await this.hooks.settled().catch(() => undefined);
        this.inRound = false;
        this.running = undefined;
      }
      // Kicked after the work's last pass (while counts were refreshed): soon, not a whole period later.
      if (this.rerun && this.failures === 0) {
        this.rerun = false;
        this.schedule(this.timing.kickDelayMs);
      }
    })();
    return this.running;
  }
}
