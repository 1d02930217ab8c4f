// Test helper: the componentize-js guest of the capabilities tests (key-value, variables and
// fetch()), built once per source and cached with the other Wasm fixtures.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentizeJs, fixtureCacheDir, fixtureWitDir } from '@spinel/test-utils';

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
export async function buildGuest(): Promise<string> {
  const key = createHash('sha256').update(GUEST + VARIABLES_WIT).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `capabilities-guest-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-capguest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    const kvWit = fileURLToPath(new URL('../../kv-wit/wit/spin-key-value@2.0.0/key-value.wit', import.meta.url));
    await mkdir(join(wit, 'deps', 'fermyon-spin'), { recursive: true });
    await writeFile(join(wit, 'deps', 'fermyon-spin', 'key-value.wit'), await readFile(kvWit, 'utf8'));
    await writeFile(join(wit, 'deps', 'fermyon-spin', 'variables.wit'), VARIABLES_WIT);
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(
      join(wit, 'world.wit'),
      `${world}\nworld capabilities {\n  include wasi:http/proxy@0.2.10;\n  import fermyon:spin/key-value@2.0.0;\n  import fermyon:spin/variables@2.0.0;\n}\n`,
    );
    await writeFile(join(work, 'index.js'), GUEST);
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: wit, world: 'capabilities', out: `${out}.tmp` });
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
