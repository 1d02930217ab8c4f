// Load time: a component built against an interface version whose functions are async (here
// spin:redis/redis@3.0.0, with a component-model async type in its binary) is refused when the
// app is prepared, as `spinel up` prepares it, naming the import and the sync version to build
// against — never a transpile failure or a trap at the first request.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { watComponentWithImport } from '@spinel/test-utils';
import { prepareApp } from '../prepare-app.js';
import { testApp } from '../../test/test-app.js';

/** The WIT of an interface version whose functions are `async` (Spin 3.4+'s shape of spin:redis@3.0.0, cut to one function). */
const ASYNC_REDIS_WIT = `package spin:redis@3.0.0;

interface redis {
  ping: async func(n: u32) -> u32;
}
`;

let dir: string;
let cache: Cache;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-async-load-'));
  cache = openCache({ root: join(dir, 'cache') });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a component importing an async interface version', () => {
  it('is refused at load with the interface named and the sync version to build against', async () => {
    const path = await watComponentWithImport({
      packageWit: ASYNC_REDIS_WIT,
      importName: 'spin:redis/redis@3.0.0',
      coreImport: '(import "spin:redis/redis@3.0.0" "ping" (func $ping (param i32) (result i32)))',
    });
    const app = testApp([{ id: 'web', path, metadata: { allowed_outbound_hosts: ['redis://127.0.0.1:6379'] } }]);
    const error = await prepareApp({ app, cache, workers: 1 }).then(
      () => undefined,
      (err: unknown) => err as Error & { code?: string; componentId?: string },
    );
    expect(error).toMatchObject({ code: 'RUNTIME_ASYNC_UNSUPPORTED', componentId: 'web' });
    expect(error?.message).toBe(
      'Component "web" imports spin:redis/redis@3.0.0 (build against fermyon:spin/redis@2.0.0 instead), whose functions are async: component-model async is not supported yet. Rebuild it against the synchronous interface versions.',
    );
  }, 120_000);
});
