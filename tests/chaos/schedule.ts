/**
 * The fault schedule of one run, drawn from the seed before anything starts,
 * so a failing seed replays the same faults at the same moments.
 */
import type { FaultMode } from '../helpers/fault-proxy';
import type { Rng } from './random';

/** Links a fault can be put on: browsers to each server, and the hub to the cloud. */
export const LINKS = ['browsers-cloud-a', 'browsers-cloud-b', 'browsers-hub', 'hub-cloud'] as const;
export type LinkName = (typeof LINKS)[number];

export const SERVERS = ['cloud-a', 'cloud-b', 'hub'] as const;
export type ServerName = (typeof SERVERS)[number];

export type FaultEvent =
  | { at: number; kind: 'link'; link: LinkName; mode: FaultMode; forMs: number }
  | { at: number; kind: 'kill'; server: ServerName; signal: 'SIGKILL' | 'SIGTERM'; downMs: number }
  /** Move a database cluster's transaction counter to just below the next power of ten. */
  | { at: number; kind: 'xid-boundary'; cluster: 'cloud' | 'hub' };

export function planFaults(rng: Rng, durationMs: number): FaultEvent[] {
  const events: FaultEvent[] = [];
  // Every run crosses a power of ten on each cluster, early enough for the load to cross it.
  events.push({ at: rng.int(500, Math.max(600, durationMs / 3)), kind: 'xid-boundary', cluster: 'cloud' });
  events.push({ at: rng.int(500, Math.max(600, durationMs / 2)), kind: 'xid-boundary', cluster: 'hub' });
  // The outage the hub exists for: the link to the cloud gone for a long stretch while both sides work.
  events.push({
    at: rng.int(1000, Math.max(1100, durationMs / 3)),
    kind: 'link',
    link: 'hub-cloud',
    mode: rng.chance(0.5) ? { kind: 'refuse' } : { kind: 'blackhole' },
    forMs: Math.round(durationMs * (0.25 + rng.next() * 0.2)),
  });
  for (let at = rng.int(300, 1500); at < durationMs - 1000; at += rng.int(700, 2600)) {
    const kind = rng.weighted({ link: 6, kill: 2 });
    if (kind === 'link') {
      events.push({ at, kind, link: rng.pick(LINKS), mode: drawMode(rng), forMs: rng.int(300, 3500) });
    } else {
      events.push({
        at,
        kind,
        server: rng.pick(SERVERS),
        signal: rng.chance(0.6) ? 'SIGKILL' : 'SIGTERM',
        downMs: rng.int(200, 2500),
      });
    }
  }
  return events.sort((a, b) => a.at - b.at);
}

function drawMode(rng: Rng): FaultMode {
  switch (rng.weighted({ refuse: 2, reset: 1, blackhole: 2, delay: 2, cutRequest: 2, cutResponse: 3 })) {
    case 'refuse':
      return { kind: 'refuse' };
    case 'reset':
      return { kind: 'reset' };
    case 'blackhole':
      return { kind: 'blackhole' };
    case 'delay':
      return { kind: 'delay', ms: rng.int(20, 400) };
    case 'cutRequest':
      return { kind: 'cut-request', afterBytes: rng.int(0, 3000) };
    case 'cutResponse':
      // Small: the server has done the work, the client never learns of it.
      return { kind: 'cut-response', afterBytes: rng.int(0, 400) };
  }
}

export function describeEvent(event: FaultEvent): string {
  const at = `${(event.at / 1000).toFixed(1).padStart(6)}s`;
  switch (event.kind) {
    case 'link': {
      const mode = event.mode;
      const detail =
        mode.kind === 'delay'
          ? `delay ${mode.ms} ms`
          : mode.kind === 'cut-request' || mode.kind === 'cut-response'
            ? `${mode.kind} after ${mode.afterBytes} B`
            : mode.kind;
      return `${at}  ${event.link.padEnd(17)} ${detail} for ${event.forMs} ms`;
    }
    case 'kill':
      return `${at}  ${event.server.padEnd(17)} ${event.signal}, back after ${event.downMs} ms`;
    case 'xid-boundary':
      return `${at}  ${`${event.cluster} postgres`.padEnd(17)} transaction ids moved to just below a power of ten`;
  }
}
