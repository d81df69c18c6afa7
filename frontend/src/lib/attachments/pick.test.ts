/** The pickers' shared rules: one at a time, no duplicates, the record's limit, the device's room, every failure said. */
import { MAX_RECORD_ATTACHMENTS, type AttachmentRef } from '@lifeline/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { takePicked, type PickOptions } from './pick';

interface Draft {
  ref: AttachmentRef;
  bytes: number;
}

/** Files whose names start alike have the same bytes here (a copy under another name). */
const hashOf = (name: string) => name.charCodeAt(0).toString(16).padStart(2, '0').repeat(32);
const file = (name: string) => new File([name], name, { type: 'application/pdf' });

function freeBytes(free: number): void {
  vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 1_000_000 - free, quota: 1_000_000 }) } });
}

/** A form holding `onForm`, whose `prepare` gives each file a draft of `bytes` (or throws for a name in `broken`). */
function form(onForm: Draft[] = [], { bytes = 100, broken = [] as string[], others = { count: 0, bytes: 0 } } = {}) {
  let drafts = [...onForm];
  const events: string[] = [];
  let busy = 0;
  const options: PickOptions<Draft> = {
    current: () => drafts,
    add: (draft) => {
      events.push(`add ${draft.ref.name}`);
      drafts = [...drafts, draft];
    },
    others,
    tooMany: 'full',
    prepare: async (picked) => {
      events.push(`prepare ${picked.name}`);
      if (broken.includes(picked.name)) throw new Error('not a PDF');
      return { ref: { hash: hashOf(picked.name), type: 'application/pdf', size: bytes, name: picked.name }, bytes };
    },
    keptBytes: (draft) => draft.bytes,
    removable: 'files',
    problem: (message) => events.push(`problem ${message}`),
    preparing: (delta) => {
      busy += delta;
    },
  };
  return { options, events, drafts: () => drafts, busy: () => busy };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('taking picked files onto a form', () => {
  it('adds each one as soon as it is ready, in order, and skips one already on the form', async () => {
    freeBytes(10_000);
    const picker = form();
    await takePicked([file('a'), file('b'), file('a copy')], picker.options);
    await takePicked([file('b')], picker.options);
    expect(picker.events).toEqual(['prepare a', 'add a', 'prepare b', 'add b', 'prepare a copy', 'prepare b']);
    expect(picker.drafts().map((draft) => draft.ref.name)).toEqual(['a', 'b']);
    expect(picker.busy()).toBe(0);
  });

  it('stops at the record limit, counting the form’s other attachments', async () => {
    freeBytes(10_000);
    const picker = form([], { others: { count: MAX_RECORD_ATTACHMENTS - 1, bytes: 0 } });
    await takePicked([file('a'), file('b'), file('c')], picker.options);
    expect(picker.events).toEqual(['prepare a', 'add a', 'problem full']);
  });

  it('refuses a file the device has no room for, counting what the form already holds, and goes on', async () => {
    freeBytes(1_000);
    const held = { ref: { hash: hashOf('h'), type: 'application/pdf' as const, size: 500, name: 'h' }, bytes: 500 };
    const picker = form([held], { bytes: 400, others: { count: 0, bytes: 200 } });
    await takePicked([file('a'), file('b')], picker.options);
    // 500 held + 200 others + 400 = 1,100 > 1,000 free: neither fits, and each says so.
    expect(picker.events.filter((event) => event.startsWith('problem'))).toHaveLength(2);
    expect(picker.events[1]).toMatch(
      /^problem a was not added: this device does not have room .* remove other files\.$/,
    );
    expect(picker.drafts()).toEqual([held]);

    freeBytes(2_000);
    await takePicked([file('a')], picker.options);
    expect(picker.drafts().map((draft) => draft.ref.name)).toEqual(['h', 'a']);
  });

  it('says which file could not be prepared and takes the rest', async () => {
    freeBytes(10_000);
    const picker = form([], { broken: ['b'] });
    await takePicked([file('a'), file('b'), file('c')], picker.options);
    expect(picker.events).toEqual(['prepare a', 'add a', 'prepare b', 'problem b: not a PDF', 'prepare c', 'add c']);
    expect(picker.busy()).toBe(0);
  });
});
