// `spinel up --serve-from-workers`: the worker threads serve HTTP themselves, and a guest still
// reaches the default SQLite key-value store and outbound HTTP (allowed hosts only) through the
// main thread, as in the default mode.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { componentizeJs, fixtureCacheDir, fixtureWitDir } from '@spinel/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, spawnSpinel, startUp } from '../../test-spinel.js';

afterEach(killSpinels);

const GUEST = `import { Store } from 'fermyon:spin/key-value@2.0.0';
const enc = new TextEncoder();
const dec = new TextDecoder();
async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === '/kv') {
    const store = Store.open('default');
    const before = store.get('visits');
    const n = before === undefined ? 1 : Number(dec.decode(before)) + 1;
    store.set('visits', enc.encode(String(n)));
    return new Response('visits=' + n);
  }
  if (url.pathname === '/fetch') {
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

/** The guest, built once per source with componentize-js and cached with the other Wasm fixtures. */
async function buildGuest(): Promise<string> {
  const kvWit = join(dirname(createRequire(import.meta.url).resolve('@spinel/kv-wit/package.json')), 'wit', 'spin-key-value@2.0.0', 'key-value.wit');
  const kvText = await readFile(kvWit, 'utf8');
  const out = join(fixtureCacheDir(), `up-sfw-guest-${createHash('sha256').update(GUEST + kvText).digest('hex').slice(0, 16)}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-up-sfw-guest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    await mkdir(join(wit, 'deps', 'fermyon-spin'), { recursive: true });
    await writeFile(join(wit, 'deps', 'fermyon-spin', 'key-value.wit'), kvText);
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(join(wit, 'world.wit'), `${world}\nworld sfw {\n  include wasi:http/proxy@0.2.10;\n  import fermyon:spin/key-value@2.0.0;\n}\n`);
    await writeFile(join(work, 'index.js'), GUEST);
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: wit, world: 'sfw', out: `${out}.tmp` });
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A loopback server counting the requests it gets. */
async function countingServer(): Promise<{ origin: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    n++;
    res.end(`upstream saw ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, count: () => n, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let guest: string;
let upstream: Awaited<ReturnType<typeof countingServer>>;
let refused: Awaited<ReturnType<typeof countingServer>>;
beforeAll(async () => {
  guest = await buildGuest();
  [upstream, refused] = await Promise.all([countingServer(), countingServer()]);
}, 900_000);
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all([upstream?.close(), refused?.close(), ...dirs.map((d) => rm(d, { recursive: true, force: true }))]);
});

function appDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-up-sfw-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'spin.toml'),
    `spin_manifest_version = 2
[application]
name = "sfw"

[[trigger.http]]
route = "/..."
component = "guest"

[component.guest]
source = ${JSON.stringify(guest)}
key_value_stores = ["default"]
allowed_outbound_hosts = [${JSON.stringify(upstream.origin)}]
`,
  );
  return dir;
}

describe('spinel up --serve-from-workers', () => {
  it('is listed in --help', async () => {
    const help = spawnSpinel(['up', '--help'], tmpdir());
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('--serve-from-workers');
  }, 60_000);

  it('keeps key-value state in the default SQLite store across fresh instances, and fetches only allowed hosts', async () => {
    const dir = appDir();
    const s = await startUp(['--serve-from-workers', '--workers', '2'], dir);
    expect(s.base, s.output()).toBeDefined();
    const base = s.base as string;
    expect(s.output()).toMatch(/Storing default key-value data to .*sqlite_key_value\.db/);
    const visits: string[] = [];
    for (let i = 0; i < 4; i++) visits.push(await (await fetch(`${base}/kv`)).text());
    expect(visits).toEqual(['visits=1', 'visits=2', 'visits=3', 'visits=4']);

    const allowed = await fetch(`${base}/fetch`, { headers: { 'x-target': `${upstream.origin}/hello` } });
    expect(await allowed.text()).toBe('status=200 body=upstream saw /hello');
    expect(upstream.count()).toBe(1);

    const denied = await fetch(`${base}/fetch`, { headers: { 'x-target': `${refused.origin}/nope` } });
    expect(denied.status).toBe(502);
    expect(await denied.text()).toContain('fetch failed');
    expect(refused.count()).toBe(0);
    expect(s.output()).toContain(`allowed_outbound_hosts = ["${refused.origin}"]`);

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(existsSync(join(dir, '.spin', 'sqlite_key_value.db'))).toBe(true);
    const again = await startUp(['--serve-from-workers'], dir);
    expect(again.base, again.output()).toBeDefined();
    expect(await (await fetch(`${again.base as string}/kv`)).text()).toBe('visits=5');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 300_000);
});
