import { describe, expect, it } from 'vitest';
import { parseAuthChallenges } from './auth-challenge.js';

describe('parseAuthChallenges', () => {
  it('reads a bearer challenge with quoted parameters', () => {
    expect(parseAuthChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' } },
    ]);
  });

  it('reads several challenges, unquoted values and escapes', () => {
    expect(parseAuthChallenges('Basic realm="Registry Realm", Bearer realm=https://x/t, service="a\\"b"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', service: 'a"b' } },
    ]);
  });

  it('returns nothing for an empty header', () => {
    expect(parseAuthChallenges('')).toEqual([]);
  });
});
