import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BridgeError, ComponentLoadError, ListenError, RuntimeError } from './errors.js';

// The codes are public contract: the one union in errors.ts and the README's table say the same.
describe('error codes', () => {
  const source = readFileSync(resolve(import.meta.dirname, 'errors.ts'), 'utf8');
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const declared = new Set([...source.matchAll(/\| '(RUNTIME_[A-Z0-9_]+)'/g)].map((m) => m[1] as string));
  const documented = new Set([...readme.matchAll(/^\| `(RUNTIME_[A-Z0-9_]+)` \|/gm)].map((m) => m[1] as string));

  it('lists in the README every code the package declares, and no other', () => {
    expect(declared.size).toBeGreaterThan(25);
    expect([...declared].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !declared.has(c))).toEqual([]);
  });

  it('derives every error class from RuntimeError', () => {
    for (const err of [
      new ComponentLoadError('RUNTIME_INVALID_WASM', 'x'),
      new ListenError('RUNTIME_HTTP_ADDRESS_IN_USE', 'x'),
      new BridgeError('RUNTIME_BRIDGE_CLOSED', 'x'),
    ]) {
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err.code).toMatch(/^RUNTIME_/);
    }
  });
});
