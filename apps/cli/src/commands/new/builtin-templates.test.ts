import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { killSpinels, SPINEL_BIN, stopSpinel, up } from '../../test-spinel.js';

// End-to-end: every template spinel ships, generated with `spinel new`/`spinel add`, built with
// `spinel build` and served with `spinel up`. The JavaScript apps' npm dependencies are linked
// from this workspace instead of downloaded (the newcomer test does the real `npm install`).
const exec = promisify(execFile);
const CLI_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

vi.setConfig({ testTimeout: 900_000 });

let data: string;
const roots: string[] = [];
afterEach(killSpinels);
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-builtin-'));
  roots.push(dir);
  return dir;
}

async function spinel(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  data ??= temp();
  try {
    return await exec(process.execPath, [SPINEL_BIN, ...args], { cwd, env: { ...process.env, SPINEL_DATA_DIR: data }, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout: string; stderr: string; message: string };
    throw new Error(`spinel ${args.join(' ')} failed: ${e.message}\n${e.stdout}\n${e.stderr}`);
  }
}

/** node_modules for a generated JS app: the packages its package.json lists, from this workspace. */
function linkJsDependencies(appDir: string): void {
  const modules = join(appDir, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  symlinkSync(join(CLI_ROOT, 'node_modules', '@bytecodealliance'), join(modules, '@bytecodealliance'));
  symlinkSync(join(CLI_ROOT, 'node_modules', 'esbuild'), join(modules, 'esbuild'));
  const typescript = join(CLI_ROOT, '..', '..', 'node_modules', 'typescript');
  symlinkSync(typescript, join(modules, 'typescript'));
  symlinkSync(join(typescript, 'bin', 'tsc'), join(modules, '.bin', 'tsc'));
}


async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const r = await request(url, { method, headers });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

describe("spinel's own templates", () => {
  it('http-ts: new → build → up answers 200, with a variable and a key-value counter that survive instances', async () => {
    const cwd = temp();
    await spinel(['new', '-t', 'http-ts', 'hello', '--accept-defaults'], cwd);
    const app = join(cwd, 'hello');
    expect(readFileSync(join(app, 'src', 'index.ts'), 'utf8')).toContain('from hello!');
    linkJsDependencies(app);
    const build = await spinel(['build'], app);
    expect(build.stdout).toMatch(/Building component hello with `npm run build`[\s\S]*Built dist\/hello\.wasm[\s\S]*Finished building all Spin components/);
    const s = await up([], app);
    const hello = await get(`${s.base}/`);
    expect([hello.status, hello.body]).toEqual([200, 'Hello from hello!\n']);
    expect((await get(`${s.base}/count`)).body).toBe('{"count":1}\n');
    expect((await get(`${s.base}/count`)).body).toBe('{"count":2}\n');
    expect(await stopSpinel(s, 'SIGINT')).toBe(0);
  });

  it('http-empty + add http-js, static-fileserver and redirect: one app, built and served together', async () => {
    const cwd = temp();
    await spinel(['new', '-t', 'http-empty', 'multi', '--accept-defaults'], cwd);
    const app = join(cwd, 'multi');
    // Like Spin's, an empty app has no trigger yet: `spinel up` would say so until a component is added.
    expect(readFileSync(join(app, 'spin.toml'), 'utf8')).toMatch(/^spin_manifest_version = 2\n\n\[application\]\nname = "multi"\nversion = "0\.1\.0"\n/);
    await spinel(['add', '-t', 'http-js', 'api', '-v', 'http-path=/api/...', '--accept-defaults'], app);
    await spinel(['add', '-t', 'static-fileserver', 'files', '-v', 'http-path=/files', '-v', 'files-path=public'], app);
    await spinel(['add', '-t', 'redirect', 'go', '-v', 'redirect-from=/go', '-v', 'redirect-to=/api/there'], app);
    const manifest = readFileSync(join(app, 'spin.toml'), 'utf8');
    expect(manifest).toContain('[variables]\ngreeting = { default = "Hello" }');
    expect(manifest).toContain('source = "api/dist/api.wasm"');
    expect(manifest).toContain('source = "files/static-fileserver.wasm"');
    expect(manifest).toContain('route = "/files/..."');
    expect(existsSync(join(app, 'public'))).toBe(true);
    writeFileSync(join(app, 'public', 'index.html'), '<h1>home</h1>');
    linkJsDependencies(join(app, 'api'));
    await spinel(['build'], app);
    const s = await up([], app);
    const api = await get(`${s.base}/api/`);
    expect([api.status, api.body]).toEqual([200, 'Hello from api!\n']);
    const files = await get(`${s.base}/files/`);
    expect([files.status, files.body]).toEqual([200, '<h1>home</h1>']);
    const go = await get(`${s.base}/go`);
    expect([go.status, go.headers['location']]).toEqual([302, '/api/there']);
    expect(await stopSpinel(s, 'SIGINT')).toBe(0);
  });

  it('static-fileserver: content types, ETag and If-None-Match, index files, HEAD, 404s and no way out of its directory', async () => {
    const cwd = temp();
    await spinel(['new', '-t', 'static-fileserver', 'site', '--accept-defaults'], cwd);
    const app = join(cwd, 'site');
    const assets = join(app, 'assets');
    mkdirSync(join(assets, 'docs'), { recursive: true });
    writeFileSync(join(assets, 'index.html'), '<h1>index</h1>');
    writeFileSync(join(assets, 'style.css'), 'body{}');
    writeFileSync(join(assets, 'data.json'), '{"a":1}');
    writeFileSync(join(assets, 'docs', 'index.html'), '<h1>docs</h1>');
    writeFileSync(join(assets, 'blob'), Buffer.from([0, 1, 2, 255]));
    writeFileSync(join(app, 'secret.txt'), 'do not serve');
    const s = await up([], app);
    const base = `${s.base}/static`;
    const index = await get(`${base}/`);
    expect([index.status, index.headers['content-type'], index.body]).toEqual([200, 'text/html; charset=utf-8', '<h1>index</h1>']);
    expect(index.headers['etag']).toMatch(/^"[0-9a-f]{16,32}"$/);
    expect(index.headers['cache-control']).toBe('max-age=60');
    expect((await get(`${base}/style.css`)).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get(`${base}/data.json`)).headers['content-type']).toBe('application/json');
    expect((await get(`${base}/blob`)).headers['content-type']).toBe('application/octet-stream');
    const css = await get(`${base}/style.css`);
    const notModified = await get(`${base}/style.css`, { 'if-none-match': `"other", ${css.headers['etag'] as string}` });
    expect([notModified.status, notModified.body, notModified.headers['etag']]).toEqual([304, '', css.headers['etag']]);
    expect((await get(`${base}/style.css`, { 'if-none-match': '"other"' })).status).toBe(200);
    expect((await get(`${base}/index.html`)).headers['etag']).not.toBe(css.headers['etag']);
    expect((await get(`${base}/docs`)).body).toBe('<h1>docs</h1>');
    expect((await get(`${base}/docs/`)).body).toBe('<h1>docs</h1>');
    const head = await get(`${base}/style.css`, {}, 'HEAD');
    expect([head.status, head.body, head.headers['content-type']]).toEqual([200, '', 'text/css; charset=utf-8']);
    expect((await get(`${base}/style.css`, {}, 'POST')).status).toBe(405);
    const missing = await get(`${base}/nope.html`);
    expect([missing.status, missing.body]).toEqual([404, 'Not Found\n']);
    for (const path of ['/static/..%2fsecret.txt', '/static/%2e%2e/secret.txt', '/static/..%5csecret.txt', '/static/docs/..%2F..%2Fsecret.txt', '/static/%00']) {
      const r = await get(`${s.base}${path}`);
      expect([path, r.status]).toEqual([path, 404]);
      expect(r.body).not.toContain('do not serve');
    }
    expect(await stopSpinel(s, 'SIGINT')).toBe(0);
  });

  it('redirect: new app answers with the redirect (STATUSCODE honoured)', async () => {
    const cwd = temp();
    await spinel(['new', '-t', 'redirect', 'moved', '-v', 'redirect-from=/...', '-v', 'redirect-to=https://example.com/new', '--accept-defaults'], cwd);
    const app = join(cwd, 'moved');
    const s = await up([], app);
    const r = await get(`${s.base}/anything`);
    expect([r.status, r.headers['location']]).toEqual([302, 'https://example.com/new']);
    await stopSpinel(s, 'SIGINT');
    const manifest = join(app, 'spin.toml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('environment = { DESTINATION = "https://example.com/new" }', 'environment = { DESTINATION = "https://example.com/new", STATUSCODE = "301" }'));
    const again = await up([], app);
    expect((await get(`${again.base}/x`)).status).toBe(301);
    await stopSpinel(again, 'SIGINT');
  });
});
