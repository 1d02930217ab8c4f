// A componentize-js guest using wasi:keyvalue (store, batch, atomics @0.2.0-draft2) and
// wasi:config/store (@0.2.0-draft), served end to end as `spinel up` serves it:
// through runApp.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { testApp } from '../../test/test-app.js';
import { runApp, type RunningApp } from '../run-app.js';
import type { AppCapabilities } from './app-capabilities.js';
import { buildWasiGuest } from '../../test/test-wasi-guest-build.js';

let dir: string;
let wasm: string;
let caps: AppCapabilities;
let serving: RunningApp;

async function start(): Promise<void> {
  const app = testApp([
    {
      id: 'guest',
      path: wasm,
      config: { greeting: 'hello {{ who }}', colour: 'blue' },
      metadata: { key_value_stores: ['default'] },
    },
  ]);
  const trigger = app.triggers[0];
  if (trigger === undefined) throw new Error('no trigger');
  trigger.trigger_config = { component: 'guest', route: '/...' };
  app.variables = { who: {} };
  serving = await runApp({
    app,
    cache: openCache({ root: join(dir, 'cache') }),
    variables: { flags: ['who=wasi world'], env: {}, cwd: dir },
    stateDir: join(dir, 'state'),
    workers: 1,
    logDir: null,
    listen: '127.0.0.1:0',
  });
  caps = serving.capabilities;
}

async function stop(): Promise<void> {
  await serving?.close();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-wasikv-'));
  wasm = await buildWasiGuest();
  await start();
}, 900_000);

afterAll(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(`${serving.baseUrl}${path}`);
  const body = await res.text();
  expect({ path, status: res.status, body: res.status === 200 ? 'ok' : body }).toEqual({ path, status: 200, body: 'ok' });
  return JSON.parse(body) as unknown;
}

describe('a componentize-js guest using wasi:keyvalue and wasi:config/store', () => {
  it('opens its store and gets, sets, checks and deletes keys', async () => {
    expect(await getJson('/store')).toEqual({ existedBefore: false, got: 'v1', existsAfterSet: true, existsAfterDelete: false, getAfterDelete: null });
  });

  it('gets, sets and deletes many keys at once', async () => {
    expect(await getJson('/batch')).toEqual({
      first: [
        ['b1', 'one'],
        ['b2', 'two'],
        ['b3', 'three'],
        ['nope', null],
      ],
      second: [
        ['b1', null],
        ['b2', 'two'],
        ['b3', null],
      ],
    });
  });

  it('lists keys page by page with the cursor, each key once', async () => {
    expect(await getJson('/list')).toEqual({ pages: 2, paged: 1005, distinct: 1005 });
  });

  it('increments and compares-and-swaps, refusing a swap on a value changed since the handle was made', async () => {
    expect(await getJson('/increment')).toEqual({ a: 5, c: 7 });
    expect(await getJson('/cas')).toEqual({ current: '10', afterSwap: '11' });
    expect(await getJson('/cas-stale')).toEqual({ staleSwap: 'cas-failed', final: 'changed' });
  });

  it('refuses a store label the component does not list', async () => {
    expect(await getJson('/denied')).toEqual({ private: 'access-denied', default: 'opened' });
  });

  it('reads its variables through wasi:config/store, one and all', async () => {
    expect(await getJson('/config')).toEqual({
      greeting: 'hello wasi world',
      missing: null,
      all: [
        ['colour', 'blue'],
        ['greeting', 'hello wasi world'],
      ],
    });
  });

  it('keeps values across fresh instances and across a restart on the same state dir', async () => {
    expect(await getJson('/persist')).toEqual({ hits: 1, prev: null });
    expect(await getJson('/persist')).toEqual({ hits: 2, prev: 'request 1' });
    expect(new TextDecoder().decode(await caps.keyValue.manager.store('default').get('last'))).toBe('request 2');
    await stop();
    await start();
    expect(await getJson('/persist')).toEqual({ hits: 3, prev: 'request 2' });
  }, 300_000);
});
