import { describe, expect, it } from 'vitest';
import type { SyncRecord } from '@lifeline/core';
import { bestPassage, highlight, plainText, searchRecords, terms } from './offline-search';

function record(entityType: string, entityId: string, fields: Record<string, unknown>, deleted = false): SyncRecord {
  return {
    entityType,
    entityId,
    fields,
    stamps: {},
    version: 1,
    deletedAt: deleted ? '2024-01-01T00:00:00.000Z' : null,
    updatedAt: '2024-01-01T00:00:00.000Z',
  } as SyncRecord;
}

describe('terms', () => {
  it('lower-cases, drops stop words, punctuation, one-letter words and repeats', () => {
    expect(terms('Where is the WATER pump? Water!')).toEqual(['water', 'pump']);
  });
  it('folds accents so "café" finds "cafe"', () => {
    expect(terms('Café')).toEqual(['cafe']);
  });
});

describe('highlight', () => {
  it('marks every occurrence, case-insensitively, keeping the original text', () => {
    expect(highlight('Water first, then water again', ['water'])).toEqual([
      { text: 'Water', mark: true },
      { text: ' first, then ', mark: false },
      { text: 'water', mark: true },
      { text: ' again', mark: false },
    ]);
  });
  it('merges overlapping matches and matches accented text', () => {
    expect(highlight('Le café', ['caf', 'cafe'])).toEqual([
      { text: 'Le ', mark: false },
      { text: 'café', mark: true },
    ]);
  });
  it('returns markup as plain text segments', () => {
    const segments = highlight('<img src=x onerror=alert(1)> water', ['water']);
    expect(segments[0]).toEqual({ text: '<img src=x onerror=alert(1)> ', mark: false });
  });
});

describe('bestPassage', () => {
  it('cuts the window of a long body that holds the terms', () => {
    const body = `${'Unrelated words here. '.repeat(40)}The water pump is behind the school. ${'More filler text. '.repeat(40)}`;
    const passage = bestPassage(body, ['water', 'pump'], 120);
    expect(passage).toContain('water pump');
    expect(passage.startsWith('…')).toBe(true);
    expect(passage.length).toBeLessThanOrEqual(122);
  });
  it('returns a short body whole', () => {
    expect(bestPassage('  Short\n body ', ['body'])).toBe('Short body');
  });
});

describe('plainText', () => {
  it('drops headings, list markers, emphasis and link syntax but keeps the words', () => {
    expect(plainText('# Water\n\n- **Boil** it for _one_ minute\n- see [the guide](https://x.test)')).toBe(
      'Water\n\nBoil it for one minute\nsee the guide',
    );
  });
  it('leaves markup that is not markdown as text (it is shown as text)', () => {
    expect(plainText('a <img src=x onerror=alert(1)> b')).toBe('a <img src=x onerror=alert(1)> b');
  });
});

describe('searchRecords', () => {
  const records = [
    record('document', 'd1', { title: 'Water safety', body: 'Boil water for one minute before drinking.' }),
    record('document', 'd2', { title: 'Generators', body: 'Never run a generator indoors. Water nearby is fine.' }),
    record('update', 'u1', { title: 'Pump broken', body: 'The water pump on Elm Street is broken.' }),
    record('update', 'u2', { title: 'Water water water', body: '' }, true),
    record('user', 'x1', { displayName: 'Water Person' }),
    record('document', 'd3', { title: 'Shelters', body: 'The hall opens at 6pm.' }),
  ];

  it('ranks title matches and records matching more words first, and skips deleted records and users', () => {
    const hits = searchRecords(records, 'boil water safely');
    // d2 and u1 tie (one body match each): the title breaks the tie.
    expect(hits.map((h) => h.entityId)).toEqual(['d1', 'd2', 'u1']);
    expect(hits[0]!.passage.filter((s) => s.mark).map((s) => s.text)).toEqual(['Boil', 'water']);
  });

  it('finds updates by words in their body', () => {
    expect(searchRecords(records, 'Elm pump')[0]).toMatchObject({ entityType: 'update', entityId: 'u1' });
  });

  it('returns nothing for a question of only stop words or without matches', () => {
    expect(searchRecords(records, 'what is the')).toEqual([]);
    expect(searchRecords(records, 'helicopter')).toEqual([]);
  });

  it('limits the number of results', () => {
    expect(searchRecords(records, 'water', 2)).toHaveLength(2);
  });
});
