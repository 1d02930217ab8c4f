import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { componentEmbed, componentNew, parse, transpile } from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKvStore } from '../memory-store.js';
import { createKvHost } from './create-kv-host.js';

// A real component, transpiled by jco, calling the host through jco's own glue: this is
// what proves the import shape (resource classes, thrown variant payloads, bigint s64,
// unversioned import names) and not only our reading of it.
const WIT_DIR = fileURLToPath(new URL('../../wit/', import.meta.url));

// Core module of the guest, in the canonical ABI: each export returns a number the test
// decodes (result tag * 256 + error case index, or a value).
const GUEST_WAT = `(module
  (import "fermyon:spin/key-value@2.0.0" "[static]store.open" (func $open2 (param i32 i32 i32)))
  (import "fermyon:spin/key-value@2.0.0" "[method]store.get" (func $get2 (param i32 i32 i32 i32)))
  (import "fermyon:spin/key-value@2.0.0" "[method]store.set" (func $set2 (param i32 i32 i32 i32 i32 i32)))
  (import "fermyon:spin/key-value" "open" (func $open1 (param i32 i32 i32)))
  (import "fermyon:spin/key-value" "get" (func $get1 (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/store@0.2.0-draft2" "open" (func $open3 (param i32 i32 i32)))
  (import "wasi:keyvalue/atomics@0.2.0-draft2" "increment" (func $inc (param i32 i32 i32 i64 i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 16) "default")
  (data (i32.const 32) "forbidden")
  (data (i32.const 48) "k")
  (data (i32.const 50) "v!")
  (data (i32.const 52) "n")
  (data (i32.const 56) "missing")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $r i32)
    (local.set $r (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
    (global.set $bump (i32.add (local.get $r) (local.get 3)))
    (local.get $r))
  ;; result tag * 256 + error tag
  (func (export "open-denied") (result i32)
    (call $open2 (i32.const 32) (i32.const 9) (i32.const 64))
    (i32.add (i32.mul (i32.load8_u (i32.const 64)) (i32.const 256)) (i32.load8_u (i32.const 68))))
  ;; set k = "v!" then get k: returns length * 1000 + last byte, or 99999 on any failure
  (func (export "roundtrip") (result i32)
    (local $h i32)
    (call $open2 (i32.const 16) (i32.const 7) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then (return (i32.const 99999))))
    (local.set $h (i32.load (i32.const 68)))
    (call $set2 (local.get $h) (i32.const 48) (i32.const 1) (i32.const 50) (i32.const 2) (i32.const 80))
    (if (i32.load8_u (i32.const 80)) (then (return (i32.const 99998))))
    (call $get2 (local.get $h) (i32.const 48) (i32.const 1) (i32.const 96))
    (if (i32.load8_u (i32.const 96)) (then (return (i32.const 99997))))
    (if (i32.eqz (i32.load8_u (i32.const 100))) (then (return (i32.const 99996))))
    (i32.add
      (i32.mul (i32.load (i32.const 108)) (i32.const 1000))
      (i32.load8_u (i32.add (i32.load (i32.const 104)) (i32.const 1)))))
  ;; wasi open + increment n by 5 twice: returns the counter
  (func (export "increment") (result i64)
    (local $b i32)
    (call $open3 (i32.const 16) (i32.const 7) (i32.const 128))
    (if (i32.load8_u (i32.const 128)) (then (return (i64.const -1))))
    (local.set $b (i32.load (i32.const 132)))
    (call $inc (local.get $b) (i32.const 52) (i32.const 1) (i64.const 5) (i32.const 144))
    (call $inc (local.get $b) (i32.const 52) (i32.const 1) (i64.const 5) (i32.const 144))
    (if (i32.load8_u (i32.const 144)) (then (return (i64.const -2))))
    (i64.load (i32.const 152)))
  ;; legacy open + get of a missing key: result tag * 256 + error tag
  (func (export "legacy-missing") (result i32)
    (call $open1 (i32.const 16) (i32.const 7) (i32.const 192))
    (if (i32.load8_u (i32.const 192)) (then (return (i32.const 99999))))
    (call $get1 (i32.load (i32.const 196)) (i32.const 56) (i32.const 7) (i32.const 208))
    (i32.add (i32.mul (i32.load8_u (i32.const 208)) (i32.const 256)) (i32.load8_u (i32.const 212))))
)
`;

interface Guest {
  openDenied(): number;
  roundtrip(): number;
  increment(): bigint;
  legacyMissing(): number;
}
type Instantiate = (getCoreModule: (name: string) => object, imports: object) => Guest;
// The package's tsconfig has no DOM lib; reach the global through a narrow type.
const Wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } }).WebAssembly;

async function witSource(): Promise<string> {
  const body = async (path: string): Promise<string> =>
    (await readFile(join(WIT_DIR, path), 'utf8')).replace(/^package [^;]+;\s*/m, '').replace(/\nworld[\s\S]*$/, '');
  return `
package test:kv;
world guest {
  import fermyon:spin/key-value@2.0.0;
  import fermyon:spin/key-value;
  import wasi:keyvalue/store@0.2.0-draft2;
  import wasi:keyvalue/atomics@0.2.0-draft2;
  export open-denied: func() -> u32;
  export roundtrip: func() -> u32;
  export increment: func() -> s64;
  export legacy-missing: func() -> u32;
}
package fermyon:spin@2.0.0 { ${await body('spin-key-value@2.0.0/key-value.wit')} }
package fermyon:spin { ${await body('spin-unversioned/key-value.wit')} }
package wasi:keyvalue@0.2.0-draft2 {
${await body('keyvalue-0.2.0-draft2/store.wit')}
${await body('keyvalue-0.2.0-draft2/atomic.wit')}
${await body('keyvalue-0.2.0-draft2/batch.wit')}
}`;
}

describe('host bindings under jco-generated glue', () => {
  let dir: string;
  let instantiate: Instantiate;
  let files: Record<string, Uint8Array>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spinel-kv-jco-'));
    const core = await parse(GUEST_WAT);
    const embedded = await componentEmbed({ binary: core, witSource: await witSource(), world: 'guest' });
    const component = await componentNew(embedded, []);
    const out = await transpile(component, { name: 'guest', instantiation: 'sync', noTypescript: true });
    files = out.files as Record<string, Uint8Array>;
    for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name.replace(/\//g, '_')), data);
    instantiate = ((await import(pathToFileURL(join(dir, 'guest.js')).href)) as { instantiate: Instantiate }).instantiate;
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = (): { guest: Guest; store: MemoryKvStore; dispose: () => void } => {
    const store = new MemoryKvStore('default');
    const host = createKvHost({ allowedLabels: ['default'], stores: new Map([['default', store], ['forbidden', new MemoryKvStore('forbidden')]]) });
    const guest = instantiate((name) => new Wasm.Module(files[name] as Uint8Array), host.imports);
    return { guest, store, dispose: host.dispose };
  };

  it('fermyon:spin/key-value@2.0.0: a label the component does not list is err(access-denied)', () => {
    const { guest } = start();
    expect(guest.openDenied()).toBe(1 * 256 + 2);
  });

  it('fermyon:spin/key-value@2.0.0: Store.open, set and get round-trip bytes through the glue', () => {
    const { guest, store } = start();
    expect(guest.roundtrip()).toBe(2 * 1000 + '!'.charCodeAt(0));
    expect(new TextDecoder().decode(store.get('k'))).toBe('v!');
  });

  it('wasi:keyvalue: open a bucket and increment an s64 counter (bigint across the boundary)', () => {
    const { guest, store } = start();
    expect(guest.increment()).toBe(10n);
    expect([...(store.get('n') ?? [])]).toEqual([10, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('fermyon:spin/key-value (Spin 1.x): get of an absent key is err(no-such-key)', () => {
    const { guest } = start();
    expect(guest.legacyMissing()).toBe(1 * 256 + 4);
  });
});
