import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { openCache, type Cache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../../test/test-app.js';
import { createComponentInstances } from '../guest/component-instances.js';
import { loadGlue } from '../guest/glue-loader.js';
import { wasiOnlyHost } from '../guest/guest-host.js';
import type { InstanceContext } from '../guest/host-registry.js';
import { IncomingRequest, ResponseOutparam, type ResponseSink } from '../guest/wasi/http.js';
import { WASI_INTERFACES } from '../guest/wasi/interface-specs.js';
import { glueAsScript, GLUE_SCRIPT_NAME } from './glue-script.js';
import { InterfaceSet } from './interface-set.js';
import { prepareComponent, type PreparedComponent } from './prepare-component.js';

// The glue as a worker compiles it: a script with V8's code cache, kept in the cache as a derived
// entry and used only as read back through its record.

let dir: string;
let cache: Cache;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-glue-script-'));
  cache = openCache({ root: join(dir, 'cache') });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function prepare(): Promise<PreparedComponent> {
  const component = testApp([{ id: 'guest', path: await watComponent('counter') }]).components[0];
  if (component === undefined) throw new Error('no component');
  return prepareComponent(component, { cache, kind: 'http', env: {}, interfaces: new InterfaceSet(WASI_INTERFACES) });
}

/** The body of one request to a fresh instance made from `prepared`'s glue as a worker loads it. */
async function serveOnce(prepared: PreparedComponent): Promise<{ body: string; codeCacheUsed: boolean }> {
  const glue = await loadGlue(prepared);
  const { registry } = wasiOnlyHost();
  const sink = { write: (): void => undefined };
  const ctx: InstanceContext = { componentId: 'guest', env: [], mounts: [], stdout: sink, stderr: sink, blocker: { wait: () => undefined } };
  const instances = createComponentInstances({
    instantiate: glue.instantiate,
    getCoreModule: (name) => prepared.modules[name] as WebAssembly.Module,
    imports: () => registry.buildImports(prepared.imports, ctx),
    reset: prepared.reset,
  });
  const chunks: Buffer[] = [];
  const out: ResponseSink = { head: () => undefined, chunk: (b) => chunks.push(Buffer.from(b)), end: () => undefined, fail: () => undefined };
  const body = { read: () => undefined, poll: { ready: () => true }, waitReadable: () => undefined };
  instances.nextHandler().handle(new IncomingRequest({ method: 'GET', url: 'http://127.0.0.1:3000/', headers: [] }, body, ctx.blocker), new ResponseOutparam(out));
  return { body: Buffer.concat(chunks).toString(), codeCacheUsed: glue.codeCacheUsed };
}

/** Compared by digest: a failing toEqual on two 600 KB buffers spends minutes on the diff. */
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function codeEntry(): Promise<string> {
  const derived = join(cache.root, 'derived');
  const name = (await readdir(derived)).find((n) => n.startsWith('spinel-glue-code-'));
  if (name === undefined) throw new Error('no code cache entry');
  return join(derived, name);
}

describe('the glue as a script with a code cache', () => {
  it('is made from the verified glue, kept in the cache, and taken by V8 as a worker loads the glue', async () => {
    const prepared = await prepare();
    const script = prepared.glueScript;
    expect(script).toBeDefined();
    expect(script?.codeCache?.byteLength).toBeGreaterThan(0);
    // The script is the glue that would have been imported, with its exports turned into a value.
    const glue = Buffer.from((prepared.glueUrl ?? '').split(',')[1] ?? '', 'base64').toString('utf8');
    expect(script?.source).toBe(glueAsScript(glue));
    expect(sha256(await readFile(join(await codeEntry(), 'glue.code')))).toBe(sha256(Buffer.from(script?.codeCache ?? [])));
    expect(await serveOnce(prepared)).toEqual({ body: '1', codeCacheUsed: true });
    // A second start reads the entry it made.
    const again = await prepare();
    expect(sha256(Buffer.from(again.glueScript?.codeCache ?? []))).toBe(sha256(Buffer.from(script?.codeCache ?? [])));
  }, 120_000);

  it('ignores a code cache changed on disk: it is made again and the app runs', async () => {
    const file = join(await codeEntry(), 'glue.code');
    const before = await readFile(file);
    const handle = await open(file, 'r+');
    try {
      // A byte in the middle of V8's data, same size: only the cache's record can tell.
      await handle.write(Buffer.from([(before[200] ?? 0) ^ 0xff]), 0, 1, 200);
    } finally {
      await handle.close();
    }
    const changed = sha256(await readFile(file));
    const prepared = await prepare();
    const code = Buffer.from(prepared.glueScript?.codeCache ?? []);
    expect(code.byteLength).toBeGreaterThan(0);
    expect(sha256(code)).not.toBe(changed);
    // The entry was made again, and holds what prepare returned.
    expect(sha256(await readFile(join(await codeEntry(), 'glue.code')))).toBe(sha256(code));
    expect(await serveOnce(prepared)).toEqual({ body: '1', codeCacheUsed: true });
  }, 120_000);

  it('compiles the source when V8 refuses the code cache (made for other code), and the app runs', async () => {
    const prepared = await prepare();
    const source = prepared.glueScript?.source ?? '';
    const other = new Uint8Array(new Script('(function () { return { instantiate() {} }; })', { filename: GLUE_SCRIPT_NAME }).createCachedData());
    // V8 checks a code cache only when it compiles: in a fresh isolate, as in a new worker (this
    // thread compiled the source already and would take it from its own compilation cache).
    const inFreshIsolate = (codeCache: Uint8Array): Promise<{ rejected: boolean; instantiate: string }> =>
      new Promise((resolve, reject) => {
        const worker = new Worker(
          `const { Script } = require('node:vm'); const { parentPort, workerData } = require('node:worker_threads');
           const script = new Script(workerData.source, { filename: ${JSON.stringify(GLUE_SCRIPT_NAME)}, cachedData: workerData.codeCache });
           const glue = script.runInThisContext()();
           parentPort.postMessage({ rejected: script.cachedDataRejected === true, instantiate: typeof glue.instantiate });`,
          { eval: true, workerData: { source, codeCache } },
        );
        worker.once('message', (m: { rejected: boolean; instantiate: string }) => void worker.terminate().then(() => resolve(m)));
        worker.once('error', reject);
      });
    expect(await inFreshIsolate(other)).toEqual({ rejected: true, instantiate: 'function' });
    expect(await inFreshIsolate(prepared.glueScript?.codeCache ?? new Uint8Array())).toEqual({ rejected: false, instantiate: 'function' });
    const refused = { ...prepared, glueScript: { source, codeCache: other } };
    expect((await serveOnce(refused)).body).toBe('1');
    const none = { ...prepared, glueScript: { source, codeCache: undefined } };
    expect(await serveOnce(none)).toEqual({ body: '1', codeCacheUsed: false });
  }, 120_000);

  it('keeps glue of any other shape a module (imports, import.meta, other exports)', () => {
    const glue = '"use components";\nexport function instantiate(getCoreModule, imports) {\n  return {};\n};\n\nexport const _util = {\n}\n';
    const script = glueAsScript(glue);
    expect(script).toBeDefined();
    const made = (new Script(script ?? '').runInThisContext() as () => { instantiate: () => unknown; _util: unknown })();
    expect(made.instantiate()).toEqual({});
    expect(made._util).toEqual({});
    // Strict, as module code is.
    expect(glueAsScript(glue.replace('return {};', 'undeclared = 1; return {};'))).toBeDefined();
    expect(() => (new Script(glueAsScript(glue.replace('return {};', 'undeclared = 1; return {};')) ?? '').runInThisContext() as () => { instantiate: () => unknown })().instantiate()).toThrow(ReferenceError);
    expect(glueAsScript(`import x from 'y';\n${glue}`)).toBeUndefined();
    expect(glueAsScript(glue.replace('return {};', 'return import.meta;'))).toBeUndefined();
    expect(glueAsScript(glue.replace('return {};', "return import('x');"))).toBeUndefined();
    expect(glueAsScript(`${glue}export const more = 1;\n`)).toBeUndefined();
    expect(glueAsScript(glue.replace('export function instantiate', 'export async function instantiate'))).toBeUndefined();
  });
});
