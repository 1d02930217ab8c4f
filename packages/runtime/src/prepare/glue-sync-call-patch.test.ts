import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildKvWatGuest, buildSqliteWatGuest, type BuiltWatGuest, type SqliteWatGuest } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchGlue } from './component-source.js';
import { SPINEL_CALL_HOST, SPINEL_LOWER_SYNC, patchGlueSyncCalls } from './glue-sync-call-patch.js';

/** How many imports jco bound through its lowerer (each binding names it twice: suspending and sync branch). */
const loweredImports = (glue: string): number => glue.match(/\)\)\) : _lowerImportBackwardsCompat\.bind\(/g)?.length ?? 0;

let sqlite: BuiltWatGuest;
let glue: string;
beforeAll(async () => {
  sqlite = await buildSqliteWatGuest();
  glue = await readFile(join(sqlite.dir, 'guest.mjs'), 'utf8');
}, 180_000);
afterAll(async () => {
  await rm(sqlite.dir, { recursive: true, force: true });
});

describe('patchGlueSyncCalls on the glue jco emits', () => {
  it('rebinds every sync import of a transpiled WAT guest (fails when a jco change loses the patch)', async () => {
    expect(loweredImports(glue)).toBe(9);
    const patch = patchGlueSyncCalls(glue);
    if (!patch.ok) throw new Error(patch.reason);
    expect(patch.skipped).toEqual({});
    expect(patch.patched).toBe(9);
    expect(loweredImports(patch.source)).toBe(0);
    expect(patch.source.match(new RegExp(`\\)\\)\\) : ${SPINEL_LOWER_SYNC}\\.bind\\(`, 'g'))).toHaveLength(9);
    expect(patch.source.match(new RegExp(`\\? ${SPINEL_CALL_HOST} : _withGlobalCurrentTaskMeta\\)\\(\\{`, 'g'))).toHaveLength(9);
    // The suspending branches (imports declared async at transpile) keep jco's lowerer.
    expect(patch.source.match(/new WebAssembly\.Suspending\(_suspendingImport\(0, _lowerImportBackwardsCompat\.bind\(/g)).toHaveLength(9);
    // Applied once: patched glue is recognised, not patched again.
    expect(patchGlueSyncCalls(patch.source)).toEqual({ ok: false, reason: 'the glue already uses the names the patch adds' });
    // prepare's glue keeps both of its patches.
    const prepared = patchGlue(glue);
    expect(prepared).toContain(`function ${SPINEL_LOWER_SYNC}(`);
    expect(prepared).toContain('const _jcoDebug = Boolean(globalThis?.process?.env?.JCO_DEBUG);');

    const kv = await buildKvWatGuest();
    try {
      const kvGlue = await readFile(join(kv.dir, 'guest.mjs'), 'utf8');
      const kvPatch = patchGlueSyncCalls(kvGlue);
      if (!kvPatch.ok) throw new Error(kvPatch.reason);
      expect(kvPatch.skipped).toEqual({});
      expect(kvPatch.patched).toBe(loweredImports(kvGlue));
    } finally {
      await rm(kv.dir, { recursive: true, force: true });
    }
  });

  it('leaves async-lowered and async-typed imports, and glue of another shape, on jco’s path', () => {
    // The sync branch of one binding marked async, another's function type marked async.
    const lowered = [...glue.matchAll(/\)\)\) : _lowerImportBackwardsCompat\.bind\(\n {2}null,\n {2}\{\n {4}trampolineIdx: (\d+),/g)];
    const [first, second] = lowered;
    if (first === undefined || second === undefined) throw new Error('expected two bindings');
    let edited = glue;
    const flip = (text: string, at: number, from: string, to: string): string => {
      const i = text.indexOf(from, at);
      return text.slice(0, i) + to + text.slice(i + from.length);
    };
    edited = flip(edited, second.index, 'funcTypeIsAsync: false', 'funcTypeIsAsync: true');
    edited = flip(edited, first.index, 'isAsync: false', 'isAsync: true');
    const patch = patchGlueSyncCalls(edited);
    if (!patch.ok) throw new Error(patch.reason);
    expect(patch.patched).toBe(7);
    expect(Object.keys(patch.skipped).sort()).toEqual([`_trampoline${first[1]}`, `_trampoline${second[1]}`].sort());

    expect(patchGlueSyncCalls('export function instantiate() {}')).toMatchObject({ ok: false, reason: expect.stringContaining('_lowerImportBackwardsCompat') });
    // A trampoline whose task-making block changed shape keeps jco's path, with the reason.
    const reshaped = glue.replaceAll('const hostProvided = true;', 'const hostProvided = !false;');
    expect(patchGlueSyncCalls(reshaped)).toMatchObject({ ok: false, reason: expect.stringContaining('task-making block') });
  });
});

/** What the fake host does on the next `execute` (spin:sqlite@3.0.0) and `last-insert-rowid`. */
interface HostMode {
  execute: 'rows' | 'payload-error' | 'plain-error' | 'trap';
  rowid: 'value' | 'plain-error';
}

/** Host imports for the SQLite WAT guest, recording the stack each host function is called on. */
function fakeHost(mode: HostMode, stacks: string[]): Record<string, unknown> {
  class Connection {
    static open(name: string): Connection {
      stacks.push(new Error('open').stack ?? '');
      if (name !== 'default') throw { payload: { tag: 'access-denied' } };
      return new Connection();
    }
    execute(sql: string): { columns: string[]; rows: Array<{ values: Array<{ tag: string; val?: unknown }> }> } {
      stacks.push(new Error('execute').stack ?? '');
      if (mode.execute === 'payload-error' || sql === 'SELEC 1') throw { payload: { tag: 'io', val: `near "SELEC": syntax error` } };
      if (mode.execute === 'plain-error') throw new TypeError('host failed');
      if (mode.execute === 'trap') throw new WebAssembly.RuntimeError('unreachable');
      return { columns: ['x'], rows: [{ values: [{ tag: 'integer', val: 42n }] }] };
    }
    lastInsertRowid(): bigint {
      if (mode.rowid === 'plain-error') throw new RangeError('rowid failed');
      return 7n;
    }
    changes(): bigint {
      return 1n;
    }
  }
  const open = (): never => {
    throw { payload: { tag: 'io', val: 'not used' } };
  };
  return { 'spin:sqlite/sqlite': { Connection }, 'fermyon:spin/sqlite': { Connection, open, execute: open, close: () => undefined } };
}

/** One instance of the guest through `source`, with its own host mode and recorded stacks. */
async function instantiate(source: string, name: string): Promise<{ guest: SqliteWatGuest; mode: HostMode; stacks: string[] }> {
  const file = join(sqlite.dir, `${name}.mjs`);
  await writeFile(file, source);
  const { instantiate: run } = (await import(pathToFileURL(file).href)) as {
    instantiate: (core: (name: string) => WebAssembly.Module, imports: Record<string, unknown>) => SqliteWatGuest;
  };
  const mode: HostMode = { execute: 'rows', rowid: 'value' };
  const stacks: string[] = [];
  const files = sqlite.files;
  const guest = run((file) => new WebAssembly.Module(files[file] as BufferSource), fakeHost(mode, stacks));
  return { guest, mode, stacks };
}

/** The outcome of one export call: its value, or the error it threw (class and message). */
function outcome(call: () => unknown): unknown {
  try {
    return { value: call() };
  } catch (error) {
    return { threw: (error as Error).constructor.name, message: (error as Error).message };
  }
}

describe('glue patched for sync calls behaves as jco’s glue', () => {
  it('gives the guest the same results, result errors, thrown host errors and traps', async () => {
    const patch = patchGlueSyncCalls(glue);
    if (!patch.ok) throw new Error(patch.reason);
    const jco = await instantiate(glue, 'glue-jco');
    const patched = await instantiate(patch.source, 'glue-patched');
    // The patched glue calls the host through its short path, jco's through its lowerer.
    patched.guest.openDenied();
    jco.guest.openDenied();
    expect(patched.stacks.at(-1)).toContain(SPINEL_LOWER_SYNC);
    expect(patched.stacks.at(-1)).not.toContain('_lowerImportBackwardsCompat');
    expect(jco.stacks.at(-1)).toContain('_lowerImportBackwardsCompat');

    const both = (mode: Partial<HostMode>, call: (guest: SqliteWatGuest) => unknown): [unknown, unknown] => {
      Object.assign(jco.mode, mode);
      Object.assign(patched.mode, mode);
      return [outcome(() => call(jco.guest)), outcome(() => call(patched.guest))];
    };
    const cases: Array<[string, Partial<HostMode>, (guest: SqliteWatGuest) => unknown, unknown]> = [
      // A result-typed import: rows lowered, a thrown { payload } lowered as the guest's err variant.
      ['rows', { execute: 'rows', rowid: 'value' }, (g) => g.roundtrip(), { value: 42007n }],
      ['denied open', {}, (g) => g.openDenied(), { value: 256 + 1 }],
      ['payload error', { execute: 'payload-error' }, (g) => g.badSql(), { value: 256 + 4 + 65536 }],
      // A thrown Error is not a payload: it leaves the guest and the export call throws it.
      ['plain error (result-typed import)', { execute: 'plain-error' }, (g) => g.roundtrip(), { threw: 'TypeError', message: 'host failed' }],
      // The instance is still usable afterwards, on both.
      ['after a plain error', { execute: 'rows' }, (g) => g.roundtrip(), { value: 42007n }],
      // An import without a result type: the error leaves the guest as it is.
      ['plain error (import without result)', { rowid: 'plain-error' }, (g) => g.roundtrip(), { threw: 'RangeError', message: 'rowid failed' }],
      ['after a plain error without result', { rowid: 'value' }, (g) => g.roundtrip(), { value: 42007n }],
      // A trap in the host marks the instance trapped: later calls cannot enter it.
      ['trap', { execute: 'trap' }, (g) => g.roundtrip(), { threw: 'RuntimeError', message: expect.stringContaining('unreachable') }],
      ['after a trap', { execute: 'rows' }, (g) => g.roundtrip(), { threw: 'RuntimeError', message: expect.stringContaining('cannot enter component instance') }],
    ];
    for (const [name, mode, call, expected] of cases) {
      const [fromJco, fromPatched] = both(mode, call);
      expect({ name, outcome: fromJco }).toEqual({ name, outcome: expected });
      expect({ name, outcome: fromPatched }).toEqual({ name, outcome: fromJco });
    }
  });
});
