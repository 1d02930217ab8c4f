import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openCache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLUE_BOOKKEEPING, GLUE_STATE_IMPORT, patchGlueState } from './glue-state-patch.js';
import { planResetsWhole, resettableCached } from './resettable-cache.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-reset-cache-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** jco's sync-mode output for a fixture component, as the prepare step writes it (glue as component.mjs). */
async function transpiled(name: 'echo' | 'counter'): Promise<string> {
  const { transpile } = await import('@bytecodealliance/jco');
  const out = await transpile(new Uint8Array(await readFile(await watComponent(name))), { name: 'component', instantiation: 'sync', noTypescript: true, quiet: true, base64Cutoff: 0 });
  const dir = join(root, `jco-transpile-${name}`);
  await mkdir(dir, { recursive: true });
  for (const [file, data] of Object.entries(out.files)) {
    if (!file.includes('/')) await writeFile(join(dir, file === 'component.js' ? 'component.mjs' : file), data);
  }
  return dir;
}

describe('patchGlueState', () => {
  it("registers jco's handle tables and every capture table with the host's hook", async () => {
    const dir = await transpiled('echo');
    const source = await readFile(join(dir, 'component.mjs'), 'utf8');
    const patch = patchGlueState(source);
    if (!patch.ok) throw new Error(patch.reason);
    const declared = source.match(/^\s*const captureTable\d+\s*=\s*new Map\(\);$/gm) ?? [];
    expect(declared.length).toBeGreaterThan(0);
    expect(patch.captureTables).toBe(declared.length);
    expect(patch.source.match(/spinelGlueCaptureTables\.push\(captureTable\d+\)/g)).toHaveLength(declared.length);
    // jco 1.35 glue has all of its bookkeeping, and hands every piece over.
    expect(patch.bookkeeping).toEqual([...GLUE_BOOKKEEPING]);
    expect(patch.source).toContain(`imports[${JSON.stringify(GLUE_STATE_IMPORT)}]?.(HANDLE_TABLES, spinelGlueCaptureTables, { ${GLUE_BOOKKEEPING.join(', ')} });`);
    // Running the patched glue hands the host the very containers (in scope where HANDLE_TABLES is made).
    const glueFile = join(dir, 'patched-component.mjs');
    await writeFile(glueFile, patch.source);
    const { instantiate } = (await import(glueFile)) as { instantiate: (get: (n: string) => WebAssembly.Module, imports: Record<string, unknown>) => unknown };
    let seen: Record<string, unknown> | undefined;
    const imports = new Proxy({} as Record<string, unknown>, {
      get: (_t, key) => (key === GLUE_STATE_IMPORT ? (_h: unknown, _c: unknown, b: Record<string, unknown>) => (seen = b) : new Proxy({}, { get: () => () => undefined })),
    });
    try {
      instantiate((name) => new WebAssembly.Module(new Uint8Array(readFileSync(join(dir, name)))), imports);
    } catch {
      // Instantiating against the stub imports may fail after the hook ran; the hook is what is tested.
    }
    expect(Object.keys(seen ?? {})).toEqual([...GLUE_BOOKKEEPING]);
    expect(Object.values(seen ?? {}).every((v) => typeof v === 'object' && v !== null)).toBe(true);
    // Patching twice, or glue of another shape, is refused rather than guessed at.
    expect(patchGlueState(patch.source).ok).toBe(false);
    expect(patchGlueState(source.replace('const HANDLE_TABLES= [];', 'const HANDLE_TABLES = new Map();')).ok).toBe(false);
    expect(patchGlueState(source.replace('export function instantiate(getCoreModule, imports,', 'export function instantiate(getCoreModule, imps,')).ok).toBe(false);
    const early = source.replace('const HANDLE_TABLES= [];', 'const captureTable99= new Map();\nconst HANDLE_TABLES= [];');
    expect(patchGlueState(early)).toMatchObject({ ok: false, reason: expect.stringMatching(/before HANDLE_TABLES/) });
    // Bookkeeping declared twice, or after HANDLE_TABLES, is not a shape the patch knows.
    const twice = source.replace(/^(\s*)const ASYNC_STATE = new Map\(\);$/m, '$1const ASYNC_STATE = new Map();\n$1const ASYNC_STATE = new Map();');
    expect(patchGlueState(twice)).toMatchObject({ ok: false, reason: expect.stringMatching(/ASYNC_STATE once/) });
    const late = source.replace(/^(\s*)const STORE_TRAP = \{ error: null \};$/m, '').replace(/^const HANDLE_TABLES\s*=\s*\[\];$/m, (d) => `${d}\nconst STORE_TRAP = { error: null };`);
    expect(patchGlueState(late)).toMatchObject({ ok: false, reason: expect.stringMatching(/STORE_TRAP is declared after HANDLE_TABLES/) });
  });
});

describe('resettableCached', () => {
  it('rewrites every core module and the glue once, keyed by the transpile key', async () => {
    const cache = openCache({ root: join(root, 'cache') });
    const from = await transpiled('counter');
    const first = await resettableCached(from, basename(from), cache);
    expect(first.created).toBe(true);
    expect(planResetsWhole(first.plan)).toBe(true);
    expect(first.plan.glue).toMatchObject({ patched: true, importKey: GLUE_STATE_IMPORT });
    const wasm = (await readdir(from)).filter((n) => n.endsWith('.wasm')).sort();
    expect(Object.keys(first.plan.layouts).sort()).toEqual(wasm);
    // The counter lives in a mutable global of the main module, which the layout covers.
    expect(Object.values(first.plan.layouts).some((l) => l.globals > 0 && l.memories.length === 1)).toBe(true);
    for (const name of wasm) expect(WebAssembly.validate(await readFile(join(first.dir, name)))).toBe(true);
    const second = await resettableCached(from, basename(from), cache);
    expect(second).toMatchObject({ dir: first.dir, created: false });
  });
});
