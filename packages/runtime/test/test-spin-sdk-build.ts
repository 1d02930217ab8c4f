// Test helper: a Spin JS SDK app built with the SDK's own build tool, `j2w` from
// @spinframework/build-tools, exactly as a Spin JS project's `npm run build` does: the project's
// package.json lists @spinframework/wasi-http-proxy (the HTTP trigger world) and declares the
// fermyon:spin key-value WIT through `config.witDependencies`, as the SDK's own KV package does.
// Built once per source and cached with the other Wasm fixtures.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cp, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fixtureCacheDir } from '@spinel/test-utils';

const APP = `import { Store } from 'fermyon:spin/key-value@2.0.0';
const enc = new TextEncoder();
const dec = new TextDecoder();
async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === '/count') {
    const store = Store.open('default');
    const before = store.get('count');
    const n = before === undefined ? 1 : Number(dec.decode(before)) + 1;
    store.set('count', enc.encode(String(n)));
    let other = 'opened';
    try { Store.open('secret'); } catch (e) { other = 'refused ' + JSON.stringify(e.payload ?? String(e)); }
    return new Response('count=' + n + ' keys=' + store.getKeys().sort().join(',') + ' other=' + other);
  }
  if (url.pathname === '/proxy') {
    try {
      const post = request.headers.get('x-method') === 'POST';
      const res = await fetch(request.headers.get('x-target'), post ? { method: 'POST', body: 'from the sdk app' } : {});
      return new Response('status=' + res.status + ' body=' + (await res.text()));
    } catch (e) {
      return new Response('fetch failed: ' + e, { status: 502 });
    }
  }
  return new Response('not found', { status: 404 });
}
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
`;

const KV_WORLD = `package fermyon:spin@2.0.0;

world spin-kv {
  import key-value;
}
`;

/** Builds (once, cached by source) the SDK app with `j2w` in its own project directory; returns the .wasm path. */
export async function buildSpinSdkApp(): Promise<string> {
  const require = createRequire(import.meta.url);
  const buildTools = dirname(dirname(require.resolve('@spinframework/build-tools/package.json')));
  const buildToolsPkg = JSON.parse(await readFile(join(buildTools, 'build-tools', 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
  const proxyPkgDir = dirname(require.resolve('@spinframework/wasi-http-proxy/package.json'));
  const kvWit = await readFile(fileURLToPath(new URL('../../kv-wit/wit/spin-key-value@2.0.0/key-value.wit', import.meta.url)), 'utf8');
  const key = createHash('sha256').update(APP + KV_WORLD + kvWit + buildToolsPkg.version).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `spin-sdk-app-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await realpath(await mkdtemp(join(tmpdir(), 'spinel-sdkapp-')));
  try {
    await mkdir(join(work, 'wit'), { recursive: true });
    await writeFile(join(work, 'wit', 'key-value.wit'), kvWit);
    await writeFile(join(work, 'wit', 'world.wit'), KV_WORLD);
    await writeFile(
      join(work, 'package.json'),
      JSON.stringify({
        name: 'sdk-app',
        version: '1.0.0',
        type: 'module',
        dependencies: { '@spinframework/wasi-http-proxy': '*' },
        config: { witDependencies: [{ witPath: './wit', package: 'fermyon:spin@2.0.0', world: 'spin-kv' }] },
      }),
    );
    // Installed as npm would (a copy, not pnpm's symlink: the WIT reader does not follow links).
    await cp(proxyPkgDir, join(work, 'node_modules', '@spinframework', 'wasi-http-proxy'), { recursive: true, dereference: true });
    await mkdir(join(work, 'src'));
    await writeFile(join(work, 'src', 'index.js'), APP);
    const j2w = join(buildTools, 'build-tools', buildToolsPkg.bin.j2w ?? 'dist/index.js');
    // build-tools merges the WIT with a jco-transpiled component that reads files through
    // @bytecodealliance/preview2-shim, which it does not depend on itself; the shim it resolves
    // (0.26) preopens nothing by default, so every WIT path fails to read. Preopen the root on
    // that same shim instance before j2w runs.
    const shim = findPackageDir(join(buildTools, 'build-tools', 'lib'), '@bytecodealliance/preview2-shim');
    const preload = join(work, 'preopen-root.mjs');
    await writeFile(
      preload,
      `import { _setPreopens } from ${JSON.stringify(pathToFileURL(join(shim, 'dist', 'nodejs', 'filesystem.js')).href)};\n_setPreopens({ '/': '/' });\n`,
    );
    const log = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, j2w, '-i', join(work, 'src', 'index.js'), '-o', join(work, 'app.wasm')], { stdio: ['ignore', 'pipe', 'pipe'], cwd: work });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('exit', () => resolve(output));
    });
    // j2w reports failures on stderr but exits 0: the component's presence is the verdict.
    if (!existsSync(join(work, 'app.wasm'))) throw new Error(`j2w (@spinframework/build-tools ${buildToolsPkg.version}) built nothing: ${log.slice(-2000)}`);
    await mkdir(dirname(out), { recursive: true });
    await cp(join(work, 'app.wasm'), `${out}.tmp`);
    await cp(`${out}.tmp`, out);
    await rm(`${out}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The directory Node's resolution would find `name` in, starting from `from`. */
function findPackageDir(from: string, name: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not resolvable from ${from}`);
  }
}
