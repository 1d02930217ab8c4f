// A small component written in WAT that reads a wasi:keyvalue bucket through the canonical ABI,
// key by key and with batch.get-many, transpiled by jco (instantiation `sync`) into a directory
// (glue as guest.mjs), so a benchmark worker can instantiate it with the runtime's key-value
// imports and time both from inside a guest.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltWatGuest } from './sqlite-wat-guest.js';

/** The guest's exports. */
export interface KvWatGuest {
  /** `batches` × 1,000 `bucket.get` of `key:000000`…`key:000999`: how many values were found. */
  singles(batches: number): number;
  /** `batches` × one `get-many` of the same 1,000 keys: how many values were found. */
  many(batches: number): number;
}

/** The keys the guest reads, in its order. */
export const KV_WAT_GUEST_KEYS: readonly string[] = Array.from({ length: 1000 }, (_, i) => `key:${String(i).padStart(6, '0')}`);

const KEYS_AT = 1024; // 1,000 keys of 10 bytes
const LIST_AT = 12288; // 1,000 (ptr, len) pairs
const HEAP_AT = 24576; // cabi_realloc's bump area, reset before each call
const PAGES = 8;

function wat(): string {
  const keys = KV_WAT_GUEST_KEYS.join('');
  if (keys.length !== 10_000 || KEYS_AT + keys.length > LIST_AT) throw new Error('guest keys overflow their area');
  return `(module
  (import "wasi:keyvalue/store@0.2.0-draft2" "open" (func $open (param i32 i32 i32)))
  (import "wasi:keyvalue/store@0.2.0-draft2" "[method]bucket.get" (func $get (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/store@0.2.0-draft2" "[resource-drop]bucket" (func $drop (param i32)))
  (import "wasi:keyvalue/batch@0.2.0-draft2" "get-many" (func $get-many (param i32 i32 i32 i32)))
  (memory (export "memory") ${PAGES})
  (global $bump (mut i32) (i32.const ${HEAP_AT}))
  (data (i32.const 16) "default")
  (data (i32.const ${KEYS_AT}) "${keys}")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $r i32)
    (local.set $r (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
    (global.set $bump (i32.add (local.get $r) (local.get 3)))
    (if (i32.gt_u (global.get $bump) (i32.const ${PAGES * 65536})) (then unreachable))
    (local.get $r))
  ;; open("default"): the bucket handle (traps when refused)
  (func $bucket (result i32)
    (call $open (i32.const 16) (i32.const 7) (i32.const 256))
    (if (i32.load8_u (i32.const 256)) (then unreachable))
    (i32.load (i32.const 260)))
  (func (export "singles") (param $batches i32) (result i32)
    (local $b i32)
    (local $i i32)
    (local $found i32)
    (local.set $b (call $bucket))
    (block $done
      (loop $batch
        (br_if $done (i32.eqz (local.get $batches)))
        (local.set $i (i32.const 0))
        (block $end
          (loop $next
            (br_if $end (i32.ge_u (local.get $i) (i32.const 1000)))
            (global.set $bump (i32.const ${HEAP_AT}))
            (call $get (local.get $b) (i32.add (i32.const ${KEYS_AT}) (i32.mul (local.get $i) (i32.const 10))) (i32.const 10) (i32.const 256))
            (if (i32.load8_u (i32.const 256)) (then unreachable))
            ;; result<option<list<u8>>>: the option's tag at +4
            (local.set $found (i32.add (local.get $found) (i32.load8_u (i32.const 260))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.set $batches (i32.sub (local.get $batches) (i32.const 1)))
        (br $batch)))
    (call $drop (local.get $b))
    (local.get $found))
  (func (export "many") (param $batches i32) (result i32)
    (local $b i32)
    (local $i i32)
    (local $found i32)
    (local $list i32)
    (local.set $b (call $bucket))
    (block $fill
      (loop $next
        (br_if $fill (i32.ge_u (local.get $i) (i32.const 1000)))
        (i32.store (i32.add (i32.const ${LIST_AT}) (i32.mul (local.get $i) (i32.const 8))) (i32.add (i32.const ${KEYS_AT}) (i32.mul (local.get $i) (i32.const 10))))
        (i32.store (i32.add (i32.const ${LIST_AT + 4}) (i32.mul (local.get $i) (i32.const 8))) (i32.const 10))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (block $done
      (loop $batch
        (br_if $done (i32.eqz (local.get $batches)))
        (global.set $bump (i32.const ${HEAP_AT}))
        (call $get-many (local.get $b) (i32.const ${LIST_AT}) (i32.const 1000) (i32.const 256))
        (if (i32.load8_u (i32.const 256)) (then unreachable))
        ;; list<tuple<string, option<list<u8>>>> at (+4, +8): 20-byte elements, the option's tag at +8
        (local.set $list (i32.load (i32.const 260)))
        (local.set $i (i32.const 0))
        (block $end
          (loop $next
            (br_if $end (i32.ge_u (local.get $i) (i32.load (i32.const 264))))
            (local.set $found (i32.add (local.get $found) (i32.load8_u (i32.add (local.get $list) (i32.add (i32.mul (local.get $i) (i32.const 20)) (i32.const 8))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.set $batches (i32.sub (local.get $batches) (i32.const 1)))
        (br $batch)))
    (call $drop (local.get $b))
    (local.get $found))
)`;
}

// The parts of wasi:keyvalue@0.2.0-draft2 the guest imports, as that package declares them.
const WIT = `package test:kv-guest;
world guest {
  import wasi:keyvalue/store@0.2.0-draft2;
  import wasi:keyvalue/batch@0.2.0-draft2;
  export singles: func(batches: u32) -> u32;
  export many: func(batches: u32) -> u32;
}
package wasi:keyvalue@0.2.0-draft2 {
  interface store {
    variant error { no-such-store, access-denied, other(string) }
    record key-response { keys: list<string>, cursor: option<string> }
    open: func(identifier: string) -> result<bucket, error>;
    resource bucket {
      get: func(key: string) -> result<option<list<u8>>, error>;
      set: func(key: string, value: list<u8>) -> result<_, error>;
      delete: func(key: string) -> result<_, error>;
      exists: func(key: string) -> result<bool, error>;
      list-keys: func(cursor: option<string>) -> result<key-response, error>;
    }
  }
  interface batch {
    use store.{bucket, error};
    get-many: func(bucket: borrow<bucket>, keys: list<string>) -> result<list<tuple<string, option<list<u8>>>>, error>;
    set-many: func(bucket: borrow<bucket>, key-values: list<tuple<string, list<u8>>>) -> result<_, error>;
    delete-many: func(bucket: borrow<bucket>, keys: list<string>) -> result<_, error>;
  }
}`;

/** Builds (embeds the WIT, makes the component, transpiles) the WAT key-value guest into a new temporary directory. */
export async function buildKvWatGuest(): Promise<BuiltWatGuest> {
  const { componentEmbed, componentNew, parse, transpile } = await import('@bytecodealliance/jco');
  const core = await parse(wat());
  const embedded = await componentEmbed({ binary: core, witSource: WIT, world: 'guest' });
  const component = await componentNew(embedded, []);
  const out = await transpile(component, { name: 'guest', instantiation: 'sync', noTypescript: true });
  const dir = await mkdtemp(join(tmpdir(), 'spinel-kv-wat-'));
  const files = out.files as Record<string, Uint8Array>;
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name === 'guest.js' ? 'guest.mjs' : name.replace(/\//g, '_')), bytes);
  return { dir, files };
}
