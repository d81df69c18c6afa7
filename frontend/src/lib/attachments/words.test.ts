import { describe, expect, it } from 'vitest';
import { sentNoun, waitingAttachmentsWords } from './words';

describe('sync bar words for what waits', () => {
  it('says photos, files, or both', () => {
    expect(waitingAttachmentsWords(2, 0)).toBe('2 photos');
    expect(waitingAttachmentsWords(1, 0)).toBe('1 photo');
    expect(waitingAttachmentsWords(0, 1)).toBe('1 file');
    expect(waitingAttachmentsWords(1, 2)).toBe('1 photo and 2 files');
    expect(sentNoun(0, 2)).toBe('photos');
    expect(sentNoun(1, 1)).toBe('file');
    expect(sentNoun(1, 3)).toBe('files');
  });
});
