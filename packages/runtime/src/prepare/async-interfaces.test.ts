import { describe, expect, it } from 'vitest';
import { asyncImportsMessage, isAsyncInterface } from './async-interfaces.js';

describe('async interface versions', () => {
  it('recognises the async versions of the outbound interfaces and WASI 0.3', () => {
    for (const name of ['spin:redis/redis@3.0.0', 'spin:mysql/mysql@3.0.0', 'spin:mqtt/mqtt@3.0.0', 'spin:postgres/postgres@4.2.0', 'spin:key-value/key-value@3.0.0', 'wasi:http/handler@0.3.0-rc-2026-03-15']) {
      expect(isAsyncInterface(name), name).toBe(true);
    }
    for (const name of ['fermyon:spin/redis@2.0.0', 'spin:postgres/postgres@4.1.0', 'spin:postgres/postgres@3.0.0', 'spin:sqlite/sqlite@3.0.0', 'fermyon:spin/redis', 'wasi:http/types@0.2.6']) {
      expect(isAsyncInterface(name), name).toBe(false);
    }
  });

  it('names each async import and the sync version to build against', () => {
    expect(asyncImportsMessage('web', ['wasi:http/types@0.2.6', 'spin:redis/redis@3.0.0', 'spin:postgres/postgres@4.2.0'])).toBe(
      'Component "web" imports spin:redis/redis@3.0.0 (build against fermyon:spin/redis@2.0.0 instead), spin:postgres/postgres@4.2.0 (build against spin:postgres/postgres@4.1.0 instead), whose functions are async: component-model async is not supported yet. Rebuild it against the synchronous interface versions.',
    );
    expect(asyncImportsMessage('web', ['fermyon:spin/redis@2.0.0'])).toBeUndefined();
  });
});
