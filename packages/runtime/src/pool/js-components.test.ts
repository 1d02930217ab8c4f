import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { jsComponent } from '@spinel/test-utils';
import { createExecutor, type WorkerExecutor } from './create-executor.js';
import type { ExecutorError } from '../errors.js';
import { bodyOf, readAll, testApp } from '../../test/test-app.js';

// Components built from JS with componentize-js (StarlingMonkey, ~12 MB): built once, then cached.
let dir: string;
let cache: Cache;
let fetchEvent: string;
let incomingHandler: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-js-'));
  cache = openCache({ root: join(dir, 'cache') });
  fetchEvent = await jsComponent('fetch-event');
  incomingHandler = await jsComponent('incoming-handler');
}, 900_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function request(path: string, ...body: string[]) {
  return { method: 'POST', url: `http://127.0.0.1:3000${path}`, headers: [['host', '127.0.0.1:3000']] as Array<[string, string]>, body: bodyOf(...body) };
}

describe('JS components (componentize-js)', () => {
  let executor: WorkerExecutor;
  beforeAll(async () => {
    executor = await createExecutor({
      app: testApp([
        { id: 'fetch-event', path: fetchEvent },
        { id: 'direct', path: incomingHandler },
      ]),
      cache,
      workers: 2,
      requestTimeoutMs: 60_000,
      maxInstanceMemory: 64 * 1024 * 1024,
    });
  }, 300_000);
  afterAll(async () => {
    await executor.close();
  });

  it('serves a fetch-event handler', async () => {
    const res = await executor.handle('fetch-event', request('/'));
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(['x-hello', 'yes']);
    expect((await readAll(res.body)).text).toBe('hello from js');
  });

  it('gives the fetch-event handler the streamed request body', async () => {
    const res = await executor.handle('fetch-event', request('/echo', 'ping', '-', 'pong'));
    expect((await readAll(res.body)).text).toBe('ping-pong');
  });

  it('isolates requests: module state starts over each time', async () => {
    for (let i = 0; i < 3; i++) expect((await readAll((await executor.handle('fetch-event', request('/counter'))).body)).text).toBe('1');
  });

  it('answers 500 when the JS handler throws, and keeps serving', async () => {
    expect((await executor.handle('fetch-event', request('/throw'))).status).toBe(500);
    expect((await executor.handle('fetch-event', request('/'))).status).toBe(200);
  });

  it('stops an endless JS loop at its deadline', async () => {
    const error = await executor.handle('fetch-event', request('/loop'), { deadline: Date.now() + 500 }).catch((err: unknown) => err as ExecutorError);
    expect(error).toMatchObject({ code: 'RUNTIME_TIMEOUT', componentId: 'fetch-event' });
    expect((await executor.handle('fetch-event', request('/'))).status).toBe(200);
  }, 120_000);

  it('fails a JS memory bomb inside the guest at the memory cap (500), and keeps serving', async () => {
    const res = await executor.handle('fetch-event', request('/memory-bomb'));
    expect(res.status).toBe(500);
    expect((await executor.handle('fetch-event', request('/'))).status).toBe(200);
  }, 120_000);

  it('serves a directly exported incoming-handler', async () => {
    const res = await executor.handle('direct', request('/a?b=1'));
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(['x-style', 'incoming-handler']);
    expect(res.headers).toContainEqual(['x-count', '1']);
    expect((await readAll(res.body)).text).toBe('hello from /a?b=1');
  });
});

describe('JS component with instance reuse', () => {
  it('keeps module state across requests of one instance', async () => {
    const executor = await createExecutor({ app: testApp([{ id: 'direct', path: incomingHandler }]), cache, workers: 1, instanceReuse: 2 });
    try {
      const counts: Array<string | undefined> = [];
      for (let i = 0; i < 3; i++) {
        const res = await executor.handle('direct', request('/'));
        await readAll(res.body);
        counts.push(res.headers.find(([n]) => n === 'x-count')?.[1]);
      }
      expect(counts).toEqual(['1', '2', '1']);
    } finally {
      await executor.close();
    }
  }, 300_000);
});
