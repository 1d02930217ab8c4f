// A componentize-js guest that uses wasi:filesystem directly (StarlingMonkey has no file API of
// its own): each request runs one operation on one of its preopened mounts and answers JSON.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentizeJs, fixtureCacheDir, fixtureWitDir } from './wasm.js';

const SOURCE = `import { getDirectories } from 'wasi:filesystem/preopens@0.2.10';
const enc = new TextEncoder();
const dec = new TextDecoder();
const attempt = (f) => { try { return { ok: f() }; } catch (e) { return { err: e && e.payload !== undefined ? e.payload : String(e) }; } };
addEventListener('fetch', (e) => e.respondWith(handle(e.request)));
function readText(dir, path) {
  const f = dir.openAt({}, path, {}, { read: true });
  return dec.decode(f.read(1000000n, 0n)[0]);
}
async function handle(request) {
  const q = new URL(request.url).searchParams;
  const mount = q.get('mount') ?? '/';
  const found = getDirectories().find(([, p]) => p === mount);
  if (found === undefined) return new Response('no mount ' + mount, { status: 404 });
  const dir = found[0];
  const path = q.get('path') ?? '';
  const op = q.get('op');
  let result;
  if (op === 'write') {
    result = attempt(() => {
      const f = dir.openAt({}, path, { create: true, truncate: true }, { write: true });
      return String(f.write(enc.encode(q.get('text') ?? ''), 0n));
    });
  } else if (op === 'append') {
    result = attempt(() => {
      const s = dir.openAt({}, path, { create: true }, { write: true }).appendViaStream();
      s.blockingWriteAndFlush(enc.encode(q.get('text') ?? ''));
      return 'appended';
    });
  } else if (op === 'read') {
    result = attempt(() => readText(dir, path));
  } else if (op === 'mkdir') {
    result = attempt(() => { dir.createDirectoryAt(path); return 'made'; });
  } else if (op === 'rename') {
    result = attempt(() => { dir.renameAt(path, dir, q.get('to') ?? ''); return 'renamed'; });
  } else if (op === 'unlink') {
    result = attempt(() => { dir.unlinkFileAt(path); return 'removed'; });
  } else {
    return new Response('unknown op', { status: 400 });
  }
  return new Response(JSON.stringify(result), { headers: { 'content-type': 'application/json' } });
}
`;

/**
 * Path of the files guest (built once, then cached): `?op=write|append|read|mkdir|rename|unlink`
 * with `path`, `text`, `to` and `mount` (the guest path of a preopen, default `/`); it answers
 * `{"ok": …}` or `{"err": "<wasi:filesystem error-code>"}`.
 */
export async function buildFilesGuest(): Promise<string> {
  const key = createHash('sha256').update(SOURCE).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `files-guest-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-filesguest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(
      join(wit, 'world.wit'),
      `${world}\nworld files {\n  include wasi:http/proxy@0.2.10;\n  import wasi:filesystem/types@0.2.10;\n  import wasi:filesystem/preopens@0.2.10;\n}\n`,
    );
    await writeFile(join(work, 'index.js'), SOURCE);
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: wit, world: 'files', out: `${out}.tmp` });
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
