import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../backend/src/assistant/breaker';

function breakerAt(start = 0) {
  const clock = { now: start };
  const breaker = new CircuitBreaker({ cooldownMs: 1000, now: () => clock.now });
  return { breaker, clock };
}

describe('circuit breaker', () => {
  it('when closed, then every request may go', () => {
    const { breaker } = breakerAt();
    expect([breaker.tryAcquire(), breaker.tryAcquire(), breaker.current]).toEqual([true, true, 'closed']);
  });

  it('when a request fails, then the breaker opens and skips the provider during the cooldown', () => {
    const { breaker, clock } = breakerAt();
    breaker.tryAcquire();
    breaker.failure();
    expect(breaker.current).toBe('open');
    clock.now = 999;
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('when the cooldown has passed, then exactly one caller probes', () => {
    const { breaker, clock } = breakerAt();
    breaker.failure();
    clock.now = 1000;
    expect(breaker.current).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it.each([
    ['succeeds', 'success', 'closed', true],
    ['fails', 'failure', 'open', false],
  ] as const)('when the probe %s, then the breaker is %s', (_what, outcome, state, next) => {
    const { breaker, clock } = breakerAt();
    breaker.failure();
    clock.now = 1500;
    breaker.tryAcquire();
    breaker[outcome]();
    expect(breaker.current).toBe(state);
    expect(breaker.tryAcquire()).toBe(next);
  });

  it('when a failed probe reopens the breaker, then a full cooldown starts again from that failure', () => {
    const { breaker, clock } = breakerAt();
    breaker.failure();
    clock.now = 1000;
    breaker.tryAcquire();
    breaker.failure();
    clock.now = 1999;
    expect(breaker.tryAcquire()).toBe(false);
    clock.now = 2000;
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('when the prober gives up without an outcome, then the next caller may probe', () => {
    const { breaker, clock } = breakerAt();
    breaker.failure();
    clock.now = 1000;
    breaker.tryAcquire();
    breaker.release();
    expect(breaker.tryAcquire()).toBe(true);
  });
});
