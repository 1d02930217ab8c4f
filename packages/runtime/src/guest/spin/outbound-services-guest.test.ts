import { describe, expect, it } from 'vitest';
import { spinPostgresVersion } from './outbound-services-guest.js';

describe('spinPostgresVersion', () => {
  it('reads the spin:postgres shape from the versioned names a component imports', () => {
    expect(spinPostgresVersion(['wasi:http/types@0.2.3', 'spin:postgres/postgres@3.0.0'])).toBe('3');
    expect(spinPostgresVersion(['spin:postgres/postgres@4.0.0'])).toBe('4');
    expect(spinPostgresVersion(['spin:postgres/postgres@4.1.0'])).toBe('4');
    // Both named: 4.x wins, as the source scan it replaces decided.
    expect(spinPostgresVersion(['spin:postgres/postgres@3.0.0', 'spin:postgres/postgres@4.1.0'])).toBe('4');
    // No spin:postgres import (or only Spin 2's fermyon:spin/postgres): the default shape.
    expect(spinPostgresVersion(['fermyon:spin/postgres@2.0.0', 'wasi:cli/environment@0.2.0'])).toBe('4');
    expect(spinPostgresVersion([])).toBe('4');
  });
});
