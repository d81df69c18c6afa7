import { describe, expect, it } from 'vitest';
import { plainText } from '../../backend/src/assistant/prompt';

describe('plainText (extractive answers)', () => {
  it('keeps the words of markdown and drops its markup', () => {
    expect(
      plainText('The pump behind **Elm school** gives water from 8am.\n- Boil it for _one_ minute\n- Bring `bottles`'),
    ).toBe('The pump behind Elm school gives water from 8am. Boil it for one minute; Bring bottles');
    expect(plainText('## Who to call\nSee [the map](https://example.org/map) or ![icon](x.png)')).toBe(
      'Who to call; See the map or icon',
    );
  });

  it('leaves plain text and lone symbols alone', () => {
    expect(plainText('2 * 3 = 6, snake_case stays')).toBe('2 * 3 = 6, snake_case stays');
  });
});
