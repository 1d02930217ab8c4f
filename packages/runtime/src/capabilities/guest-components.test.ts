// End to end with a real guest: a JS component built by componentize-js that uses
// fermyon:spin/key-value, fermyon:spin/variables and fetch() (wasi:http outgoing-handler).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { fixtureCacheDir, fixtureWitDir } from '@spinel/test-utils';
import { prepareComponent, type PreparedComponent } from '../engine/prepare.js';
import { testApp } from '../engine/test-app.js';
import { createAppCapabilities, type AppCapabilities } from './app-capabilities.js';
import { declareCapabilityInterfaces } from './register-capabilities.js';
import { startCountingServer, type CountingServer } from './test-servers.js';
import { startTsWorker } from './test-start-worker.js';

const GUEST = `import { Store } from 'fermyon:spin/key-value@2.0.0';
import { get } from 'fermyon:spin/variables@2.0.0';
const enc = new TextEncoder();
const dec = new TextDecoder();
async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === '/kv') {
    const store = Store.open('default');
    const before = store.get('visits');
    const n = before === undefined ? 1 : Number(dec.decode(before)) + 1;
    store.set('visits', enc.encode(String(n)));
    let other = 'opened';
    try { Store.open('private'); } catch (e) { other = 'refused ' + JSON.stringify(e.payload ?? String(e)); }
    return new Response('visits=' + n + ' seeded=' + dec.decode(store.get('seeded')) + ' other=' + other);
  }
  if (url.pathname === '/var') return new Response(get('greeting'));
  if (url.pathname === '/fetch' || url.pathname === '/denied') {
    try {
      const res = await fetch(request.headers.get('x-target'));
      return new Response('status=' + res.status + ' body=' + (await res.text()));
    } catch (e) {
      return new Response('fetch failed: ' + e, { status: 502 });
    }
  }
  return new Response('unknown', { status: 404 });
}
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
`;

const VARIABLES_WIT = `package fermyon:spin@2.0.0;

interface variables {
  variant error { invalid-name(string), undefined(string), provider(string), other(string) }
  get: func(name: string) -> result<string, error>;
}
`;

/** Builds (once, cached by source) the guest with componentize-js, in a child process as test-utils does. */
async function buildGuest(): Promise<string> {
  const key = createHash('sha256').update(GUEST + VARIABLES_WIT).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `capabilities-guest-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-capguest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    const kvWit = fileURLToPath(new URL('../../../kv-wit/wit/spin-key-value@2.0.0/key-value.wit', import.meta.url));
    await mkdir(join(wit, 'deps', 'fermyon-spin'), { recursive: true });
    await writeFile(join(wit, 'deps', 'fermyon-spin', 'key-value.wit'), await readFile(kvWit, 'utf8'));
    await writeFile(join(wit, 'deps', 'fermyon-spin', 'variables.wit'), VARIABLES_WIT);
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(
      join(wit, 'world.wit'),
      `${world}\nworld capabilities {\n  include wasi:http/proxy@0.2.10;\n  import fermyon:spin/key-value@2.0.0;\n  import fermyon:spin/variables@2.0.0;\n}\n`,
    );
    await writeFile(join(work, 'index.js'), GUEST);
    const testUtilsDist = dirname(createRequire(import.meta.url).resolve('@spinel/test-utils'));
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [join(testUtilsDist, 'componentize-child.js'), join(work, 'index.js'), wit, 'capabilities', `${out}.tmp`], {
        stdio: ['ignore', 'ignore', 'pipe'],
        cwd: testUtilsDist,
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`componentize-js failed: ${stderr.slice(-2000)}`))));
    });
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

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
  declareCapabilityInterfaces();
  const component = app.components[0];
  if (component === undefined) throw new Error('no component');
  prepared = await prepareComponent(component, { cache: openCache({ root: join(dir, 'cache') }), kind: 'http', env: {} });
  const { init, transfer } = caps.workerInit();
  worker = startTsWorker('./test-guest-worker.ts', { init, prepared }, transfer);
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
