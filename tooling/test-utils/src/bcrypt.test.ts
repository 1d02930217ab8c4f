import { describe, expect, it } from 'vitest';
import { bcryptHash } from './bcrypt.js';

describe('bcryptHash', () => {
  // Reference values from the system's libxcrypt (`crypt(3)` with the same salt and cost).
  it.each([
    ['pw', 5, 'abcdefghijklmnopqrstuu', '$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q'],
    ['s3cret-pässword', 4, 'ABCDEFGHIJKLMNOPQRSTUu', '$2b$04$ABCDEFGHIJKLMNOPQRSTUuuld5VX5HB3RPg4PIp/L2gESStP38PDi'],
  ])('hashes %j like crypt(3)', (password, cost, salt, expected) => {
    expect(bcryptHash(password, cost, salt)).toBe(expected);
  });

  it('uses a fresh salt each time by default', () => {
    expect(bcryptHash('same', 4)).not.toBe(bcryptHash('same', 4));
  });
});
