import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { wagiModule, watComponent, watToWasm, type WatComponentName } from '@spinel/test-utils';
import { createExecutor, type WorkerExecutor } from './create-executor.js';
import type { ExecutorError } from '../errors.js';
import type { ClientGone } from './executor-types.js';
import { bodyOf, readAll, testApp } from '../../test/test-app.js';
import { reader } from '../../test/test-wagi-wat.js';

const NAMES: WatComponentName[] = ['hello', 'echo', 'stream', 'counter', 'trap', 'loop', 'memory-bomb'];
const MiB = 1024 * 1024;

let dir: string;
let cache: Cache;
let paths: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-engine-'));
  cache = openCache({ root: join(dir, 'cache') });
  paths = {};
  for (const name of NAMES) paths[name] = await watComponent(name);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function request(path: string, ...body: string[]) {
  return { method: 'POST', url: `http://127.0.0.1:3000${path}`, headers: [['host', '127.0.0.1:3000']] as Array<[string, string]>, body: bodyOf(...body) };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as ExecutorError).code;
  }
  return undefined;
}

describe('executor with WAT components', () => {
  let executor: WorkerExecutor;
  beforeAll(async () => {
    executor = await createExecutor({
      app: testApp(NAMES.map((id) => ({ id, path: paths[id] ?? '' }))),
      cache,
      workers: 2,
      logDir: join(dir, 'logs'),
      maxInstanceMemory: 16 * MiB,
      requestTimeoutMs: 30_000,
    });
  }, 60_000);
  afterAll(async () => {
    await executor.close();
  });

  it('answers with the guest status, headers and body', async () => {
    const res = await executor.handle('hello', request('/hello'));
    expect(res.status).toBe(200);
    expect(res.headers).toEqual([['x-fixture', 'wat']]);
    expect((await readAll(res.body)).text).toBe('hello from wat\n');
  });

  it('streams the request body to the guest and its echo back', async () => {
    const big = 'x'.repeat(300_000);
    const res = await executor.handle('echo', request('/echo', 'abc', big, 'def'));
    expect(res.status).toBe(201);
    const { text } = await readAll(res.body);
    expect(text).toBe(`abc${big}def`);
  });

  it('streams a large response body in chunks as the guest writes them', async () => {
    const res = await executor.handle('stream', request('/stream'));
    const { bytes, chunks } = await readAll(res.body);
    expect(bytes).toBe(16 * MiB);
    expect(chunks).toBeGreaterThan(100);
  });

  it('gives every request a fresh instance: the counter reads 1 each time', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) seen.push((await readAll((await executor.handle('counter', request('/counter'))).body)).text);
    expect(seen).toEqual(['1', '1', '1', '1', '1']);
  });

  it('fails only the trapping request, with the component named; the next one succeeds', async () => {
    const error = await executor.handle('trap', request('/trap')).catch((err: unknown) => err as ExecutorError);
    expect(error).toMatchObject({ code: 'RUNTIME_GUEST_TRAP', componentId: 'trap' });
    expect((error as Error).message).toContain('unreachable');
    expect((await executor.handle('hello', request('/hello'))).status).toBe(200);
  });

  it('stops an endless loop at its deadline, replaces the worker, and keeps serving', async () => {
    const before = executor.workerCount;
    expect(await codeOf(executor.handle('loop', request('/loop'), { deadline: Date.now() + 300 }))).toBe('RUNTIME_TIMEOUT');
    expect((await executor.handle('hello', request('/hello'))).status).toBe(200);
    expect(executor.workerCount).toBe(before);
  });

  it('makes memory growth past the cap fail inside the guest', async () => {
    expect(await codeOf(executor.handle('memory-bomb', request('/memory-bomb')))).toBe('RUNTIME_GUEST_TRAP');
    expect((await executor.handle('hello', request('/hello'))).status).toBe(200);
  });

  it('rejects an unknown component id', async () => {
    expect(await codeOf(executor.handle('nope', request('/')))).toBe('RUNTIME_UNKNOWN_COMPONENT');
  });

  it('serves concurrent requests across the workers', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, async () => (await readAll((await executor.handle('counter', request('/counter'))).body)).text));
    expect(new Set(results)).toEqual(new Set(['1']));
  });

  it('leaks no worker and no memory over 1,000 faulting requests', async () => {
    const workers = executor.workerCount;
    const fault = (i: number): Promise<string | undefined> =>
      codeOf(executor.handle(i % 50 === 0 ? 'memory-bomb' : 'trap', request('/x')));
    for (let i = 0; i < 20; i++) await fault(i); // warm up
    const rssBefore = process.memoryUsage().rss;
    const codes = new Set<string | undefined>();
    for (let i = 0; i < 1_000; i += 10) {
      for (const code of await Promise.all(Array.from({ length: 10 }, (_, j) => fault(i + j)))) codes.add(code);
    }
    for (let i = 0; i < 3; i++) expect(await codeOf(executor.handle('loop', request('/loop'), { deadline: Date.now() + 200 }))).toBe('RUNTIME_TIMEOUT');
    expect(codes).toEqual(new Set(['RUNTIME_GUEST_TRAP']));
    // A standby extra worker may have been started while one component held both workers; once
    // idle it stops, and the pool is back to its size.
    for (let i = 0; i < 100 && executor.workerCount !== workers; i++) await new Promise((r) => setTimeout(r, 200));
    expect(executor.workerCount).toBe(workers);
    expect((await executor.handle('hello', request('/hello'))).status).toBe(200);
    const growth = process.memoryUsage().rss - rssBefore;
    expect(growth).toBeLessThan(256 * MiB);
  }, 180_000);

  it('appends guest stdout to one log file per component, written out by close', async () => {
    // Its own executor: nothing here depends on what other tests ran or closed.
    const ownLogs = await mkdtemp(join(dir, 'logs-'));
    const own = await createExecutor({ app: testApp([{ id: 'hello', path: paths['hello'] ?? '' }]), cache, workers: 2, logDir: ownLogs });
    for (let i = 0; i < 4; i++) await readAll((await own.handle('hello', request('/hello'))).body);
    await own.close();
    const log = await readFile(join(ownLogs, 'hello_stdout.txt'), 'utf8');
    expect(log.split('\n').filter((l) => l === 'log line from wat')).toHaveLength(4);
    expect(await codeOf(own.handle('hello', request('/hello')))).toBe('RUNTIME_CLOSED');
  });

  it('hands guest output to onGuestOutput with its component id, beside the log files', async () => {
    const seen: string[] = [];
    const own = await createExecutor({
      app: testApp([{ id: 'hello', path: paths['hello'] ?? '' }]),
      cache,
      workers: 1,
      onGuestOutput: (id, stream, bytes) => seen.push(`${id}/${stream}:${new TextDecoder().decode(bytes)}`),
    });
    for (let i = 0; i < 2; i++) await readAll((await own.handle('hello', request('/hello'))).body);
    await own.close();
    expect(seen.join('')).toBe('hello/stdout:log line from wat\nhello/stdout:log line from wat\n');
  });
});

describe('memory cap by default', () => {
  it('fails memory bombs of an app without a configured cap fast, keeps serving, and closes with one in flight', async () => {
    const executor = await createExecutor({ app: testApp([{ id: 'memory-bomb', path: paths['memory-bomb'] ?? '' }, { id: 'hello', path: paths['hello'] ?? '' }]), cache, workers: 2 });
    try {
      // Uncapped, one bomb held its worker for 36-60 s, growing to 4 GiB, and nothing could stop
      // it sooner; at the default cap each fails in about a second (the bound is for a busy machine).
      const started = Date.now();
      const bombs = Array.from({ length: 4 }, () => executor.handle('memory-bomb', request('/memory-bomb')).then(() => undefined, (err: ExecutorError) => err));
      expect((await executor.handle('hello', request('/hello'))).status).toBe(200);
      for (const error of await Promise.all(bombs)) {
        expect(error).toMatchObject({ code: 'RUNTIME_GUEST_TRAP', componentId: 'memory-bomb' });
        // The trap says why: the guest's memory reached the limit.
        expect(error?.message).toContain('near the instance memory limit of 268435456 bytes');
      }
      expect(Date.now() - started).toBeLessThan(60_000);
      const inFlight = codeOf(executor.handle('memory-bomb', request('/memory-bomb')));
      await new Promise((r) => setTimeout(r, 100));
      const closing = Date.now();
      await executor.close();
      expect(Date.now() - closing).toBeLessThan(15_000);
      expect(await inFlight).toBeDefined();
    } finally {
      await executor.close();
    }
  }, 120_000);
});

describe('instance reuse', () => {
  it('keeps one instance for up to N requests: the counter increments, then starts again', async () => {
    const executor = await createExecutor({ app: testApp([{ id: 'counter', path: paths['counter'] ?? '' }]), cache, workers: 1, instanceReuse: 3 });
    try {
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) seen.push((await readAll((await executor.handle('counter', request('/counter'))).body)).text);
      expect(seen).toEqual(['1', '2', '3', '1', '2']);
    } finally {
      await executor.close();
    }
  }, 60_000);
});

describe('fresh instances in one worker', () => {
  it('gives every request new guest state, with the glue kept or rebuilt', async () => {
    for (const glueGenerations of [64, 3, 1]) {
      const executor = await createExecutor({ app: testApp([{ id: 'counter', path: paths['counter'] ?? '' }]), cache, workers: 1, glueGenerations });
      try {
        const seen: string[] = [];
        for (let i = 0; i < 8; i++) seen.push((await readAll((await executor.handle('counter', request('/counter'))).body)).text);
        expect(seen).toEqual(Array.from({ length: 8 }, () => '1'));
        expect(await codeOf(executor.handle('counter', request('/counter'), { deadline: Date.now() - 1 }))).toBe('RUNTIME_TIMEOUT');
      } finally {
        await executor.close();
      }
    }
  }, 120_000);
});

describe('client going away', () => {
  it('rejects at once, leaves the guest to its deadline, and keeps serving', async () => {
    // No extra worker for the starved component: the count shows no worker was churned.
    const executor = await createExecutor({ app: testApp([{ id: 'loop', path: paths['loop'] ?? '' }, { id: 'hello', path: paths['hello'] ?? '' }]), cache, workers: 1, maxWorkers: 1 });
    try {
      const controller = new AbortController();
      const running = executor.handle('loop', request('/loop'), { signal: controller.signal, deadline: Date.now() + 1_500 });
      setTimeout(() => controller.abort(), 200);
      expect(await codeOf(running)).toBe('RUNTIME_ABORTED');
      const queued = new AbortController();
      const waiting = executor.handle('hello', request('/hello'), { signal: queued.signal });
      queued.abort();
      expect(await codeOf(waiting)).toBe('RUNTIME_ABORTED');
      expect((await executor.handle('hello', request('/hello'))).status).toBe(200);
      expect(executor.workerCount).toBe(1);
    } finally {
      await executor.close();
    }
  }, 60_000);

  it('hears it through clientGone (the trigger\'s cheaper form), running or queued, and stops listening when done', async () => {
    const executor = await createExecutor({ app: testApp([{ id: 'loop', path: paths['loop'] ?? '' }, { id: 'hello', path: paths['hello'] ?? '' }]), cache, workers: 1, maxWorkers: 1 });
    const goneSource = (): ClientGone & { go(): void; listening(): number } => {
      let gone = false;
      const listeners = new Set<() => void>();
      return {
        get gone() {
          return gone;
        },
        onGone(listener) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        go() {
          gone = true;
          for (const l of [...listeners]) l();
        },
        listening: () => listeners.size,
      };
    };
    try {
      const client = goneSource();
      const running = executor.handle('loop', request('/loop'), { clientGone: client, deadline: Date.now() + 1_500 });
      setTimeout(() => client.go(), 200);
      expect(await codeOf(running)).toBe('RUNTIME_ABORTED');
      const queuedClient = goneSource();
      const waiting = executor.handle('hello', request('/hello'), { clientGone: queuedClient });
      queuedClient.go();
      expect(await codeOf(waiting)).toBe('RUNTIME_ABORTED');
      const already = goneSource();
      already.go();
      expect(await codeOf(executor.handle('hello', request('/hello'), { clientGone: already }))).toBe('RUNTIME_ABORTED');
      const stays = goneSource();
      expect((await executor.handle('hello', request('/hello'), { clientGone: stays })).status).toBe(200);
      expect(stays.listening()).toBe(0);
    } finally {
      await executor.close();
    }
  }, 60_000);
});

describe('loading', () => {
  it('refuses a component importing an interface the host does not provide, naming both', async () => {
    const path = await watComponent('unknown-import');
    const error = await createExecutor({ app: testApp([{ id: 'odd', path }]), cache, workers: 1 }).catch((err: unknown) => err as ExecutorError);
    expect(error).toMatchObject({ code: 'RUNTIME_UNSUPPORTED_IMPORTS', componentId: 'odd' });
    expect((error as Error).message).toContain('spinel:fixtures/unknown@0.1.0');
    expect((error as Error).message).toContain('"odd"');
  }, 60_000);

  it('refuses a core module on a wasi:http route and a missing file', async () => {
    const wagi = await wagiModule('echo');
    expect(await codeOf(createExecutor({ app: testApp([{ id: 'core', path: wagi }]), cache, workers: 1 }))).toBe('RUNTIME_NOT_A_HANDLER');
    expect(await codeOf(createExecutor({ app: testApp([{ id: 'gone', path: join(dir, 'missing.wasm') }]), cache, workers: 1 }))).toBe('RUNTIME_COMPONENT_SOURCE');
  }, 60_000);

  it('mounts files directories and refuses a file that is not a directory', async () => {
    const { mkdir } = await import('node:fs/promises');
    const assets = join(dir, 'assets');
    await mkdir(assets, { recursive: true });
    const ok = await createExecutor({ app: testApp([{ id: 'hello', path: paths['hello'] ?? '', files: [{ source: pathToFileURL(assets).href, path: '/' }] }]), cache, workers: 1 });
    expect((await ok.handle('hello', request('/'))).status).toBe(200);
    await ok.close();
    const bad = testApp([{ id: 'hello', path: paths['hello'] ?? '', files: [{ source: pathToFileURL(paths['hello'] ?? '').href, path: '/x' }] }]);
    expect(await codeOf(createExecutor({ app: bad, cache, workers: 1 }))).toBe('RUNTIME_FILES_MOUNT');
  }, 60_000);

  it('refuses a component whose initial memory exceeds the cap', async () => {
    expect(await codeOf(createExecutor({ app: testApp([{ id: 'hello', path: paths['hello'] ?? '' }]), cache, workers: 1, maxInstanceMemory: 65_536 }))).toBe('RUNTIME_MEMORY_LIMIT');
  }, 60_000);

  it('transpiles a component once and reuses the cached output on the next start', async () => {
    // A fresh cache whose putDerived reports what it did: the transpiler must run on the first
    // start only, and the second start must find the entry without building it again.
    const fresh = openCache({ root: join(dir, 'transpile-once') });
    const reports: Array<{ key: string; created: boolean; built: boolean }> = [];
    const counting = new Proxy(fresh, {
      get(target, prop, receiver) {
        if (prop !== 'putDerived') return Reflect.get(target, prop, receiver) as unknown;
        return async (key: string, build: (tmp: string) => Promise<void>) => {
          let built = false;
          const result = await target.putDerived(key, async (tmp) => {
            built = true;
            await build(tmp);
          });
          reports.push({ key, created: result.created, built });
          return result;
        };
      },
    });
    const app = testApp([{ id: 'hello', path: paths['hello'] ?? '' }]);
    await (await createExecutor({ app, cache: counting, workers: 1 })).close();
    // The transpile output, its resettable form (prepare/resettable-cache.ts), then the code
    // cache of its glue (prepare/glue-script.ts).
    expect(reports).toEqual([
      { key: expect.stringMatching(/^jco-transpile-/), created: true, built: true },
      { key: expect.stringMatching(/^spinel-reset-\d+-jco-transpile-/), created: true, built: true },
      { key: expect.stringMatching(/^spinel-glue-code-/), created: true, built: true },
    ]);
    await (await createExecutor({ app, cache: counting, workers: 1 })).close();
    expect(reports.filter((r) => r.built)).toHaveLength(3);
    expect(reports.slice(3).every((r) => !r.built)).toBe(true);
  }, 60_000);
});

describe('WAGI through the executor', () => {
  it('runs a preview1 command with the CGI env, argv and stdin it is given', async () => {
    const path = await wagiModule('echo');
    const executor = await createExecutor({ app: testApp([{ id: 'cgi', path, wagi: true }]), cache, workers: 1 });
    try {
      expect(executor.components.get('cgi')).toBe('wagi');
      const result = await executor.runWagi('cgi', {
        env: [['REQUEST_METHOD', 'POST']],
        argv: ['/cgi', 'a'],
        stdin: new TextEncoder().encode('body!'),
      });
      const out = Buffer.from(result.stdout).toString();
      expect(out).toContain('content-type: text/plain');
      expect(out).toContain('REQUEST_METHOD=POST');
      expect(out).toContain('/cgi\na\n');
      expect(out.endsWith('body!')).toBe(true);
      expect(await codeOf(executor.handle('cgi', request('/cgi')))).toBe('RUNTIME_NOT_A_HANDLER');
    } finally {
      await executor.close();
    }
  }, 60_000);

  it('gives a WAGI module the component\'s files mounts, as prepared at load, and nothing else', async () => {
    const files = await mkdtemp(join(dir, 'wagi-files-'));
    await writeFile(join(files, 'hello.txt'), 'hi there');
    await writeFile(join(dir, 'wagi-secret.txt'), 'outside');
    const module = join(dir, 'wagi-reader.wasm');
    const mounted = join(dir, 'wagi-mounted.wasm');
    await writeFile(module, await watToWasm(reader('hello.txt')));
    await writeFile(mounted, await watToWasm(reader('../wagi-secret.txt')));
    const executor = await createExecutor({
      app: testApp([
        { id: 'reader', path: module, wagi: true, files: [{ source: pathToFileURL(files).href, path: '/' }] },
        { id: 'escaper', path: mounted, wagi: true, files: [{ source: pathToFileURL(files).href, path: '/' }] },
        { id: 'bare', path: module, wagi: true },
      ]),
      cache,
      workers: 1,
    });
    try {
      const run = async (id: string): Promise<string> => Buffer.from((await executor.runWagi(id, { env: [], argv: ['/'], stdin: new Uint8Array(0) })).stdout).toString();
      expect(await run('reader')).toBe('00hi there');
      expect(await run('escaper')).toBe('76'); // ENOTCAPABLE
      expect(await run('bare')).toBe('08'); // no mounts: no fd 3
    } finally {
      await executor.close();
    }
  }, 60_000);

  it('stops a WAGI module that never ends at its deadline', async () => {
    const executor = await createExecutor({ app: testApp([{ id: 'spin', path: await wagiModule('loop'), wagi: true }, { id: 'cgi', path: await wagiModule('echo'), wagi: true }]), cache, workers: 1 });
    try {
      const invocation = { env: [], argv: ['/'], stdin: new Uint8Array(0) };
      expect(await codeOf(executor.runWagi('spin', invocation, { deadline: Date.now() + 300 }))).toBe('RUNTIME_TIMEOUT');
      expect((await executor.runWagi('cgi', invocation)).exitCode).toBe(0);
    } finally {
      await executor.close();
    }
  }, 60_000);
});
