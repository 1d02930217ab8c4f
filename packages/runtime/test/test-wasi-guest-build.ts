// Test helper: a componentize-js guest using wasi:keyvalue (store, batch, atomics at
// 0.2.0-draft2) and wasi:config/store (0.2.0-draft), built once per source and cached with the
// other Wasm fixtures, the same way as test-guest-build.ts.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentizeJs, fixtureCacheDir, fixtureWitDir } from '@spinel/test-utils';

const GUEST = `import { open } from 'wasi:keyvalue/store@0.2.0-draft2';
import { getMany, setMany, deleteMany } from 'wasi:keyvalue/batch@0.2.0-draft2';
import { increment, swap, Cas } from 'wasi:keyvalue/atomics@0.2.0-draft2';
import { get as configGet, getAll } from 'wasi:config/store@0.2.0-draft';
const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (v) => (v === undefined ? null : dec.decode(v));
const failure = (e) => {
  const p = e && e.payload;
  if (p === undefined) return String(e);
  return p.tag + (typeof p.val === 'string' ? ':' + p.val : '');
};
const json = (v) => new Response(JSON.stringify(v), { headers: { 'content-type': 'application/json' } });
function route(path) {
  if (path === '/store') {
    const b = open('default');
    const existedBefore = b.exists('k');
    b.set('k', enc.encode('v1'));
    const got = text(b.get('k'));
    const existsAfterSet = b.exists('k');
    b.delete('k');
    return json({ existedBefore, got, existsAfterSet, existsAfterDelete: b.exists('k'), getAfterDelete: text(b.get('k')) });
  }
  if (path === '/persist') {
    const b = open('default');
    const n = increment(b, 'hits', 1n);
    const prev = text(b.get('last'));
    b.set('last', enc.encode('request ' + n));
    return json({ hits: Number(n), prev });
  }
  if (path === '/batch') {
    const b = open('default');
    setMany(b, [['b1', enc.encode('one')], ['b2', enc.encode('two')], ['b3', enc.encode('three')]]);
    const first = getMany(b, ['b1', 'b2', 'b3', 'nope']).map(([k, v]) => [k, text(v)]);
    deleteMany(b, ['b1', 'b3']);
    const second = getMany(b, ['b1', 'b2', 'b3']).map(([k, v]) => [k, text(v)]);
    return json({ first, second });
  }
  if (path === '/list') {
    const b = open('default');
    const many = [];
    for (let i = 0; i < 1005; i++) many.push(['page/' + String(i).padStart(4, '0'), enc.encode(String(i))]);
    setMany(b, many);
    const keys = [];
    let cursor = undefined;
    let pages = 0;
    do {
      const res = b.listKeys(cursor);
      pages++;
      keys.push(...res.keys);
      cursor = res.cursor;
    } while (cursor !== undefined && pages < 50);
    const paged = keys.filter((k) => k.startsWith('page/'));
    return json({ pages, paged: paged.length, distinct: new Set(paged).size });
  }
  if (path === '/increment') {
    const b = open('default');
    b.delete('counter');
    const a = increment(b, 'counter', 5n);
    const c = increment(b, 'counter', 2n);
    return json({ a: Number(a), c: Number(c) });
  }
  if (path === '/cas') {
    const b = open('default');
    b.set('cas', enc.encode('10'));
    const cas = Cas.new(b, 'cas');
    const current = text(cas.current());
    swap(cas, enc.encode('11'));
    return json({ current, afterSwap: text(b.get('cas')) });
  }
  if (path === '/cas-stale') {
    const b = open('default');
    b.set('stale', enc.encode('10'));
    const stale = Cas.new(b, 'stale');
    b.set('stale', enc.encode('changed'));
    let staleSwap = 'swapped';
    try { swap(stale, enc.encode('lost')); } catch (e) { staleSwap = failure(e); }
    return json({ staleSwap, final: text(b.get('stale')) });
  }
  if (path === '/denied') {
    const out = {};
    for (const label of ['private', 'default']) {
      try { open(label); out[label] = 'opened'; } catch (e) { out[label] = failure(e); }
    }
    return json(out);
  }
  if (path === '/config') {
    return json({ greeting: configGet('greeting') ?? null, missing: configGet('missing') ?? null, all: getAll().sort((x, y) => (x[0] < y[0] ? -1 : 1)) });
  }
  return new Response('unknown', { status: 404 });
}
addEventListener('fetch', (event) => {
  let res;
  try { res = route(new URL(event.request.url).pathname); } catch (e) { res = new Response('guest error: ' + failure(e), { status: 500 }); }
  event.respondWith(res);
});
`;

const CONFIG_WIT = `package wasi:config@0.2.0-draft;

interface store {
  variant error { upstream(string), io(string) }
  get: func(key: string) -> result<option<string>, error>;
  get-all: func() -> result<list<tuple<string, string>>, error>;
}
`;

/** Builds (once, cached by source) the wasi:keyvalue / wasi:config guest with componentize-js in a child process. */
export async function buildWasiGuest(): Promise<string> {
  const kvDir = fileURLToPath(new URL('../../kv-wit/wit/keyvalue-0.2.0-draft2/', import.meta.url));
  const kvFiles = (await readdir(kvDir)).filter((f) => f.endsWith('.wit')).sort();
  const kvSources = await Promise.all(kvFiles.map(async (f) => readFile(join(kvDir, f), 'utf8')));
  const key = createHash('sha256').update(GUEST + CONFIG_WIT + kvSources.join('\n')).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `wasi-kv-config-guest-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-wasiguest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    await mkdir(join(wit, 'deps', 'wasi-keyvalue'), { recursive: true });
    await Promise.all(kvFiles.map(async (f, i) => writeFile(join(wit, 'deps', 'wasi-keyvalue', f), kvSources[i] ?? '')));
    await mkdir(join(wit, 'deps', 'wasi-config'), { recursive: true });
    await writeFile(join(wit, 'deps', 'wasi-config', 'store.wit'), CONFIG_WIT);
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(
      join(wit, 'world.wit'),
      `${world}\nworld wasi-capabilities {\n  include wasi:http/proxy@0.2.10;\n  import wasi:keyvalue/store@0.2.0-draft2;\n  import wasi:keyvalue/batch@0.2.0-draft2;\n  import wasi:keyvalue/atomics@0.2.0-draft2;\n  import wasi:config/store@0.2.0-draft;\n}\n`,
    );
    await writeFile(join(work, 'index.js'), GUEST);
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: wit, world: 'wasi-capabilities', out: `${out}.tmp` });
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
