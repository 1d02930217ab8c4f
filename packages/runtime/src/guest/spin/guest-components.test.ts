// End to end with a real guest: a JS component built by componentize-js that uses
// fermyon:spin/key-value, fermyon:spin/variables and fetch() (wasi:http outgoing-handler).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createBridgeServer } from '../../channel/bridge-server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { prepareComponent, type PreparedComponent } from '../../prepare/prepare-component.js';
import { testApp } from '../../../test/test-app.js';
import { createAppCapabilities, type AppCapabilities } from '../../services/app-capabilities.js';
import { InterfaceSet } from '../../prepare/interface-set.js';
import { WASI_INTERFACES } from '../wasi/interface-specs.js';
import { startCountingServer, type CountingServer } from '../../../test/test-servers.js';
import { startTsWorker } from '../../../test/test-start-worker.js';
import { buildGuest } from '../../../test/test-guest-build.js';

let dir: string;
let upstream: CountingServer;
let denied: CountingServer;
let caps: AppCapabilities;
let prepared: PreparedComponent;
let worker: Worker;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-capjs-'));
  upstream = await startCountingServer((req, res) => res.end(`upstream saw ${req.url}`));
  denied = await startCountingServer();
  const wasm = await buildGuest();
  const app = testApp([
    {
      id: 'guest',
      path: wasm,
      config: { greeting: 'hello {{ who }}' },
      metadata: { allowed_outbound_hosts: [`http://127.0.0.1:${upstream.port}`], key_value_stores: ['default'] },
    },
  ]);
  app.variables = { who: { default: 'nobody' } };
  caps = await createAppCapabilities({
    app,
    variables: { env: { SPIN_VARIABLE_WHO: 'guest world' } },
    keyValue: { stateDir: join(dir, 'state'), seeds: ['seeded=yes'] },
  });
  const component = app.components[0];
  if (component === undefined) throw new Error('no component');
  prepared = await prepareComponent(component, { cache: openCache({ root: join(dir, 'cache') }), kind: 'http', env: {}, interfaces: new InterfaceSet([...WASI_INTERFACES, ...caps.interfaces]) });
  const init = caps.workerInit();
  const endpoint = createBridgeServer(caps.handlers).connect();
  worker = startTsWorker('./test-guest-worker.ts', { init, endpoint, prepared }, [endpoint.port]);
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
}, 900_000);

afterAll(async () => {
  await worker?.terminate();
  await caps?.close();
  await Promise.all([upstream?.close(), denied?.close()]);
  await rm(dir, { recursive: true, force: true });
});

function send(path: string, headers: Array<[string, string]> = []): Promise<{ status: number; body: string; trap?: string }> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage({ path, headers });
  });
}

describe('a componentize-js guest using the capabilities', () => {
  it('reads its variables through fermyon:spin/variables', async () => {
    expect(await send('/var')).toMatchObject({ status: 200, body: 'hello guest world' });
  });

  it('keeps state in its default store across fresh instances, and cannot open an unlisted one', async () => {
    const first = await send('/kv');
    expect(first.body).toMatch(/^visits=1 seeded=yes other=refused .*access-denied/);
    expect((await send('/kv')).body).toMatch(/^visits=2 /);
    expect(new TextDecoder().decode(await caps.keyValue.manager.store('default').get('visits'))).toBe('2');
  });

  it('fetches an allowed upstream and is refused a host not in its list', async () => {
    expect(await send('/fetch', [['x-target', `${upstream.origin}/up`]])).toMatchObject({ status: 200, body: 'status=200 body=upstream saw /up' });
    const before = denied.seen.length;
    const refused = await send('/denied', [['x-target', `${denied.origin}/secret`]]);
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('fetch failed');
    expect(denied.seen.length).toBe(before);
  });
});
