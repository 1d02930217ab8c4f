// A guest calling another guest while it blocks its own worker: with one worker the pool must
// start a temporary one for the inner request, then go back to its size.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createExecutor, type WorkerExecutor } from './create-executor.js';
import type { GuestRequest } from './executor-types.js';
import { testApp } from '../../test/test-app.js';
import { createAppCapabilities, type AppCapabilities } from '../services/app-capabilities.js';
import { createChainDispatch } from '../services/chain-dispatch.js';
import { buildGuest } from '../../test/test-guest-build.js';

let dir: string;
let caps: AppCapabilities;
let executor: WorkerExecutor;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-poolgrow-'));
  const wasm = await buildGuest();
  const app = testApp([
    { id: 'guest', path: wasm, config: { greeting: 'hello from inside' }, metadata: { allowed_outbound_hosts: ['http://guest.spin.internal'], key_value_stores: ['default'] } },
  ]);
  caps = await createAppCapabilities({ app, variables: { flags: [], env: {}, cwd: dir }, keyValue: { stateDir: join(dir, 'state') } });
  executor = await createExecutor({ app, cache: openCache({ root: join(dir, 'cache') }), capabilities: caps, workers: 1, maxWorkers: 2, logDir: null });
  caps.setChainDispatch(createChainDispatch((id, req, opts) => executor.handle(id, req, opts)));
}, 900_000);

afterAll(async () => {
  await executor?.close();
  await caps?.close();
  await rm(dir, { recursive: true, force: true });
});

async function* empty(): AsyncIterable<Uint8Array> {}

async function call(path: string, headers: Array<[string, string]> = []): Promise<{ status: number; body: string }> {
  const request: GuestRequest = { method: 'GET', url: `http://127.0.0.1:3000${path}`, headers, body: empty() };
  const res = await executor.handle('guest', request);
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body) chunks.push(chunk);
  return { status: res.status, body: Buffer.concat(chunks).toString() };
}

describe('a one-worker pool serving a guest that chains to a component', () => {
  it('answers the chained request on a temporary worker, which stops again once idle', async () => {
    expect(executor.workerCount).toBe(1);
    const res = await call('/fetch', [['x-target', 'http://guest.spin.internal/var']]);
    expect(res).toEqual({ status: 200, body: 'status=200 body=hello from inside' });
    expect(executor.workerCount).toBe(2);
    await vi.waitFor(() => expect(executor.workerCount).toBe(1), { timeout: 20_000, interval: 200 });
    // Again, after the pool shrank.
    expect(await call('/fetch', [['x-target', 'http://guest.spin.internal/var']])).toEqual({ status: 200, body: 'status=200 body=hello from inside' });
  }, 60_000);

  it('handles a plain request on the one worker without starting another', async () => {
    await vi.waitFor(() => expect(executor.workerCount).toBe(1), { timeout: 20_000, interval: 200 });
    expect(await call('/var')).toEqual({ status: 200, body: 'hello from inside' });
    expect(executor.workerCount).toBe(1);
  });
});
