import { describe, expect, it } from 'vitest';
import { editDistance, nearest } from './suggest.js';

describe('nearest', () => {
  it('suggests a close candidate and nothing for a far one', () => {
    expect(nearest('upp', ['up', 'new', 'build'])).toBe('up');
    expect(nearest('nwe', ['up', 'new', 'build'])).toBe('new');
    expect(nearest('templtes', ['templates', 'up'])).toBe('templates');
    expect(nearest('deploy', ['up', 'new', 'build'])).toBeUndefined();
    expect(editDistance('ab', 'ba')).toBe(1);
  });
});
