import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import { jsComponent, watComponent } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, readAll, testApp } from '../../test/test-app.js';
import { createExecutor, type WorkerExecutor } from './create-executor.js';

// Isolation between requests through the workers, where instances are reset between requests
// (guest/component-instances.ts): nothing of one request reaches the next on the same worker.

let dir: string;
let executor: WorkerExecutor;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-isolation-'));
  const app = testApp([
    { id: 'secret', path: await watComponent('secret') },
    { id: 'handle-one', path: await watComponent('handle-one') },
    { id: 'grow', path: await watComponent('grow') },
    { id: 'trap', path: await watComponent('trap') },
    { id: 'js', path: await jsComponent('isolation') },
  ]);
  // One worker: every request lands on the instances the previous one used.
  executor = await createExecutor({ app, cache: openCache({ root: join(dir, 'cache') }), workers: 1, maxWorkers: 1, requestTimeoutMs: 60_000 });
}, 900_000);

afterAll(async () => {
  await executor?.close();
  await rm(dir, { recursive: true, force: true });
});

async function get(component: string, path: string): Promise<{ status: number; text: string; bytes: Buffer }> {
  const res = await executor.handle(component, { method: 'GET', url: `http://127.0.0.1:3000${path}`, headers: [], body: bodyOf() });
  const parts: Buffer[] = [];
  for await (const chunk of res.body) parts.push(Buffer.from(chunk));
  const bytes = Buffer.concat(parts);
  return { status: res.status, text: bytes.toString('latin1'), bytes };
}

describe('isolation between requests on one worker', () => {
  it("a WAT guest reads neither the previous request's memory nor its handles", async () => {
    expect((await get('secret', '/secret-request-one')).bytes).toEqual(Buffer.alloc(32));
    expect((await get('secret', '/two')).bytes).toEqual(Buffer.alloc(32));
    expect((await get('handle-one', '/one')).text).toBe('/one');
    expect((await get('handle-one', '/two')).text).toBe('/two');
  });

  it('a guest that grows memory, or traps, leaves the next request a fresh instance', async () => {
    for (let i = 0; i < 3; i++) expect((await get('grow', '/')).text).toBe('3');
    await expect(executor.handle('trap', { method: 'GET', url: 'http://127.0.0.1:3000/', headers: [], body: bodyOf() })).rejects.toMatchObject({ code: 'RUNTIME_GUEST_TRAP' });
    expect((await get('secret', '/after-trap')).bytes).toEqual(Buffer.alloc(32));
  });

  it('a JS guest starts every request with its module variables as built', async () => {
    for (const path of ['/secret-one', '/grow', '/secret-two', '/four']) {
      const res = await get('js', path);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ count: 1, previous: '' });
    }
    const { text } = await readAll((await executor.handle('js', { method: 'GET', url: 'http://127.0.0.1:3000/last', headers: [], body: bodyOf() })).body);
    expect(JSON.parse(text)).toEqual({ count: 1, previous: '' });
  });
});
