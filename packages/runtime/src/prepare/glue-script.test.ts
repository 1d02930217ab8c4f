import { mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
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

async function codeEntry(): Promise<string> {
  const derived = join(cache.root, 'derived');
  const name = (await readdir(derived)).find((n) => n.startsWith('spinel-glue-code-'));
  if (name === undefined) throw new Error('no code cache entry');
  return join(derived, name);
}

describe('the glue as a script with a code cache', () => {
  it('is made from the verified glue, kept in the cache, and taken by V8 in a worker', async () => {
    const prepared = await prepare();
    const script = prepared.glueScript;
    expect(script).toBeDefined();
    expect(script?.codeCache?.byteLength).toBeGreaterThan(0);
    // The script is the glue that would have been imported, with its exports turned into a value.
    const glue = Buffer.from((prepared.glueUrl ?? '').split(',')[1] ?? '', 'base64').toString('utf8');
    expect(script?.source).toBe(glueAsScript(glue));
    expect(await readFile(join(await codeEntry(), 'glue.code'))).toEqual(Buffer.from(script?.codeCache ?? []));
    expect(await serveOnce(prepared)).toEqual({ body: '1', codeCacheUsed: true });
    // A second start reads the entry it made.
    const again = await prepare();
    expect(Buffer.from(again.glueScript?.codeCache ?? [])).toEqual(Buffer.from(script?.codeCache ?? []));
  }, 120_000);

  it('ignores a code cache changed on disk: it is made again and the app runs', async () => {
    const made = (await prepare()).glueScript?.codeCache;
    const file = join(await codeEntry(), 'glue.code');
    const handle = await open(file, 'r+');
    try {
      // A byte in the middle of V8's data, same size: only the cache's record can tell.
      await handle.write(Buffer.from([0xff ^ ((made?.[200] ?? 0) as number)]), 0, 1, 200);
    } finally {
      await handle.close();
    }
    const prepared = await prepare();
    expect(Buffer.from(prepared.glueScript?.codeCache ?? [])).toEqual(Buffer.from(made ?? []));
    expect(await serveOnce(prepared)).toEqual({ body: '1', codeCacheUsed: true });
  }, 120_000);

  it('compiles the source when V8 refuses the code cache (made for other code), and the app runs', async () => {
    const prepared = await prepare();
    const other = new Script('(function () { return { instantiate() {} }; })', { filename: GLUE_SCRIPT_NAME }).createCachedData();
    const refused = { ...prepared, glueScript: { source: prepared.glueScript?.source ?? '', codeCache: new Uint8Array(other) } };
    expect(await serveOnce(refused)).toEqual({ body: '1', codeCacheUsed: false });
    const none = { ...prepared, glueScript: { source: prepared.glueScript?.source ?? '', codeCache: undefined } };
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
