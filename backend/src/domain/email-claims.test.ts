import { describe, expect, it } from 'vitest';
import { chooseEmailHolder, type EmailClaim } from './email-claims';

const claim = (userId: string, communityId: string, emailStamp: string | null, wasHolder = false): EmailClaim => ({
  userId,
  communityId,
  emailStamp,
  wasHolder,
});

describe('chooseEmailHolder', () => {
  it('when nobody claims the email, then nobody holds it', () => {
    expect(chooseEmailHolder([])).toBeNull();
  });

  it('when two accounts of one community claim it, then the earlier claim holds it, whoever held it before', () => {
    const cloud = claim('b', 'c1', '000000000002000:00000:cloud', true);
    const hub = claim('a', 'c1', '000000000001000:00000:hub');
    expect(chooseEmailHolder([cloud, hub])).toBe('a');
    expect(chooseEmailHolder([hub, cloud])).toBe('a');
  });

  it('when the claims carry the same stamp, then the lower id holds it', () => {
    expect(chooseEmailHolder([claim('z', 'c1', 's'), claim('m', 'c1', 's')])).toBe('m');
  });

  it('when an account of another community claims an email already held, then the holder keeps it', () => {
    const holder = claim('b', 'c1', '000000000002000:00000:cloud', true);
    const intruder = claim('a', 'c2', '000000000000001:00000:hub');
    expect(chooseEmailHolder([intruder, holder])).toBe('b');
  });
});
