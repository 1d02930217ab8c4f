import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { killSpinels, servingUrl, servingUrls, spawnSpinel, type SpinelRun } from '../../test-spinel.js';

// End-to-end: `spinel watch` from the built CLI on an app whose build turns src/body.txt into a
// WAGI module (assembled from WAT in about a second), so an edit visibly changes what is served.
const TEST_UTILS = pathToFileURL(createRequire(import.meta.url).resolve('@spinel/test-utils')).href;

vi.setConfig({ testTimeout: 600_000 });

const BUILD = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const { watToWasm } = await import(${JSON.stringify(TEST_UTILS)});
const body = readFileSync('src/body.txt', 'utf8');
if (body.includes('FAIL')) { console.error('body says FAIL'); process.exit(3); }
const bytes = Buffer.from('content-type: text/plain\\n\\n' + body);
const data = [...bytes].map((b) => '\\\\' + b.toString(16).padStart(2, '0')).join('');
const wat = '(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))'
  + ' (memory (export "memory") 1) (data (i32.const 64) "' + data + '")'
  + ' (func (export "_start") (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const ' + bytes.length + '))'
  + ' (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))';
mkdirSync('dist', { recursive: true });
writeFileSync('dist/app.wasm', await watToWasm(wat));
`;

const MANIFEST = (route: string): string => `spin_manifest_version = 2
[application]
name = "watched"

[[trigger.http]]
route = "${route}"
component = "app"
executor = { type = "wagi" }

[component.app]
source = "dist/app.wasm"
[component.app.build]
command = "node build.mjs"
watch = ["src/**/*.txt"]
`;

const roots: string[] = [];
afterEach(killSpinels);
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function app(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-watch-'));
  roots.push(dir);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'body.txt'), body);
  writeFileSync(join(dir, 'build.mjs'), BUILD);
  writeFileSync(join(dir, 'spin.toml'), MANIFEST('/...'));
  return dir;
}

const watch = (args: string[], cwd: string): SpinelRun => spawnSpinel(['watch', ...args], cwd);

/** Waits for the `n`th "Serving <url>" line; returns that URL. */
async function serving(w: SpinelRun, n: number): Promise<string> {
  const url = await servingUrl(w, { nth: n, timeoutMs: 300_000 });
  if (url === undefined) throw new Error(`no ${n}th Serving line:\n${w.output()}`);
  return url;
}

async function text(url: string): Promise<string> {
  return (await fetch(url)).text();
}

/**
 * The body served by the newest `spinel up` watch started (at least the nth): a change written in
 * more than one step may restart serving once more, and the server that printed the nth line may
 * be gone by the time it is asked.
 */
async function newestText(w: SpinelRun, n: number): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 150; i++) {
    await serving(w, n);
    try {
      return await text(servingUrls(w).at(-1) as string);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no newest server answered:\n${w.output()}`, { cause: last });
}

describe('spinel watch', () => {
  it('builds and serves, rebuilds on a source edit (the next request sees it), keeps serving through a failed build, follows the manifest, stops on Ctrl-C', async () => {
    const dir = app('first version');
    const w = watch(['--debounce', '200', '--', '--listen', '127.0.0.1:0'], dir);
    const first = await serving(w, 1);
    expect(w.output()).toContain('Building component app with `node build.mjs`');
    expect(w.output()).toContain('Watching for changes (Ctrl-C to stop)');
    expect(await text(`${first}/`)).toBe('first version');

    writeFileSync(join(dir, 'src', 'body.txt'), 'second version');
    const second = await serving(w, 2);
    expect(w.output()).toContain('src/body.txt changed: building app');
    expect(await text(`${second}/`)).toBe('second version');

    // A broken build leaves the last good one serving.
    writeFileSync(join(dir, 'src', 'body.txt'), 'FAIL please');
    for (let i = 0; i < 600 && !w.output().includes('Build failed; still serving the last build'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(w.output()).toContain('Build command for component app failed with status 3');
    expect(await text(`${second}/`)).toBe('second version');

    // A manifest change: re-read, rebuilt, restarted with the new route.
    writeFileSync(join(dir, 'src', 'body.txt'), 'third version');
    await serving(w, 3);
    writeFileSync(join(dir, 'spin.toml'), MANIFEST('/moved/...'));
    const fourth = await serving(w, 4);
    expect(w.output()).toContain('spin.toml changed: building the app');
    expect(await text(`${fourth}/moved/x`)).toBe('third version');
    expect((await fetch(`${fourth}/x`)).status).toBe(404);

    // Files outside every glob change nothing.
    const before = w.output().length;
    writeFileSync(join(dir, 'README.md'), 'notes');
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.output().slice(before)).not.toContain('changed');

    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    await expect(fetch(`${fourth}/moved/x`)).rejects.toThrow();
  });

  it('--skip-build restarts when the component changes, without building; --clear clears the screen', async () => {
    const dir = app('prebuilt one');
    execFileSync(process.execPath, ['build.mjs'], { cwd: dir });
    const w = watch(['--skip-build', '--clear', '--', '--listen', '127.0.0.1:0'], dir);
    const first = await serving(w, 1);
    expect(await text(`${first}/`)).toBe('prebuilt one');
    // A source edit alone does nothing without a build...
    writeFileSync(join(dir, 'src', 'body.txt'), 'prebuilt two');
    await new Promise((r) => setTimeout(r, 1500));
    expect([...w.output().matchAll(/Serving /g)]).toHaveLength(1);
    // ...building outside watch changes the component: serving restarts.
    execFileSync(process.execPath, ['build.mjs'], { cwd: dir });
    expect(await newestText(w, 2)).toBe('prebuilt two');
    expect(w.output()).toContain('dist/app.wasm changed: restarting spinel up');
    expect(w.output()).not.toContain('Building component');
    expect(w.output()).toContain('\x1b[2J');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('says what is wrong with the manifest before watching', async () => {
    const dir = app('x');
    writeFileSync(join(dir, 'spin.toml'), 'spin_manifest_version = 2\n[application]\n');
    const w = watch([], dir);
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/MANIFEST_/);
    expect(readFileSync(join(dir, 'spin.toml'), 'utf8')).toContain('[application]');
  });
});
