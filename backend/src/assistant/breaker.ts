/**
 * A circuit breaker per provider: closed → open after a failure → half-open
 * after the cooldown, when exactly one request probes the provider; its
 * success closes the breaker, its failure opens it again.
 *
 * One failure is enough to open: a failed attempt already cost the asker up
 * to LLM_TIMEOUT_MS, and the next asker should not pay it again. (opossum
 * counts failures of a wrapped promise; here a failure can also arrive
 * mid-stream, long after the call "succeeded", so a small state machine that
 * is told about outcomes fits better.)
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  cooldownMs: number;
  now?: () => number;
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state as seen now: an open breaker whose cooldown has passed reads half-open. */
  get current(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.options.cooldownMs) return 'half-open';
    return this.state;
  }

  /**
   * Ask to send a request. Closed: yes. Open within the cooldown: no. After
   * the cooldown: yes for one caller (the probe) until its outcome is known.
   */
  tryAcquire(): boolean {
    const state = this.current;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.state = 'half-open';
    this.probing = true;
    return true;
  }

  success(): void {
    this.state = 'closed';
    this.probing = false;
  }

  failure(): void {
    this.state = 'open';
    this.openedAt = this.now();
    this.probing = false;
  }

  /** The request ended without telling us anything about the provider (the asker left). */
  release(): void {
    if (this.probing) {
      this.probing = false;
      // Nothing learned: let the next caller probe.
      this.state = 'half-open';
    }
  }
}
