import { watToWasm } from '@spinel/test-utils';
import { describe, expect, it } from 'vitest';
import { ComponentSnapshot } from '../guest/instance-snapshot.js';
import { RESET_RESTORE_EXPORT, RESET_SAVE_EXPORT, makeResettable, type ResetLayout } from './resettable-module.js';
import { WasmFormatError, readSections } from './wasm-reader.js';

// A module with every kind of state a reset must put back: data in memory and zero pages, mutable
// globals of each type the JS API can and cannot read (v128), an exported table, a table only its
// code writes, and a table nothing writes (left out of the snapshot).
const STATEFUL = `(module
  (memory (export "mem") 2 10)
  (data (i32.const 16) "initial")
  (global $g32 (export "g32") (mut i32) (i32.const 7))
  (global $g64 (export "g64") (mut i64) (i64.const 8))
  (global $gf32 (export "gf32") (mut f32) (f32.const 1.5))
  (global $gf64 (export "gf64") (mut f64) (f64.const 2.5))
  (global $gv (mut v128) (v128.const i32x4 1 2 3 4))
  (global $gfn (export "gfn") (mut funcref) (ref.func $a))
  (global $gext (export "gext") (mut externref) (ref.null extern))
  (global $fixed (export "fixed") i32 (i32.const 99))
  (type $ret (func (result i32)))
  (table $t (export "t") 4 10 funcref)
  (table $w 3 10 funcref)
  (table $ro 2 funcref)
  (elem (table $t) (i32.const 0) func $a $b)
  (elem (table $w) (i32.const 0) func $a $b)
  (elem (table $ro) (i32.const 0) func $a $b)
  (func $a (export "a") (result i32) (i32.const 1))
  (func $b (export "b") (result i32) (i32.const 2))
  (func (export "dirty") (param $ext externref)
    (i32.store (i32.const 16) (i32.const 0x41414141))
    (i32.store (i32.const 70000) (i32.const 5))
    (global.set $g32 (i32.const 70))
    (global.set $g64 (i64.const 80))
    (global.set $gf32 (f32.const 15))
    (global.set $gf64 (f64.const 25))
    (global.set $gv (v128.const i32x4 9 9 9 9))
    (global.set $gfn (ref.func $b))
    (global.set $gext (local.get $ext))
    (table.set $t (i32.const 0) (ref.func $b))
    (table.set $t (i32.const 3) (ref.func $a))
    (table.set $w (i32.const 0) (ref.func $b)))
  (func (export "lane") (result i32) (i32x4.extract_lane 0 (global.get $gv)))
  (func (export "callW") (param i32) (result i32) (call_indirect $w (type $ret) (local.get 0)))
  (func (export "callRo") (param i32) (result i32) (call_indirect $ro (type $ret) (local.get 0)))
  (func (export "growMemory") (drop (memory.grow (i32.const 1))))
  (func (export "growTable") (drop (table.grow $w (ref.null func) (i32.const 1)))))`;

async function resettable(wat: string): Promise<{ bytes: Uint8Array; layout: ResetLayout }> {
  const result = makeResettable(await watToWasm(wat));
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result;
}

async function refusal(wat: string): Promise<string> {
  const result = makeResettable(await watToWasm(wat));
  if (result.ok) throw new Error('expected a refusal');
  return result.reason;
}

type Exports = Record<string, unknown> & {
  mem: WebAssembly.Memory;
  t: WebAssembly.Table;
  g32: WebAssembly.Global;
  g64: WebAssembly.Global;
  gf32: WebAssembly.Global;
  gf64: WebAssembly.Global;
  gfn: WebAssembly.Global;
  gext: WebAssembly.Global;
  dirty(ext: unknown): void;
  lane(): number;
  callW(i: number): number;
  callRo(i: number): number;
  growMemory(): void;
  growTable(): void;
  a(): number;
  b(): number;
};

describe('makeResettable', () => {
  it('saves and restores memory, mutable globals of every type and the tables that can change', async () => {
    const { bytes, layout } = await resettable(STATEFUL);
    // $t is exported, $w is written by table.set; $ro can never change and is left out.
    expect(layout).toMatchObject({ memories: ['spinel:reset/memory/0'], hasSaveRestore: true, tables: [0, 1], globals: 7 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
    const x = instance.exports as Exports;
    const snapshot = new ComponentSnapshot([{ instance, layout }]);
    const before = new Uint8Array(x.mem.buffer).slice();

    for (let round = 0; round < 3; round++) {
      x.dirty({ secret: round });
      expect(x.g32.value).toBe(70);
      expect(x.callW(0)).toBe(2);
      expect(new Uint8Array(x.mem.buffer, 70000, 1)[0]).toBe(5);
      expect(snapshot.restore()).toBe(true);
      expect(new Uint8Array(x.mem.buffer)).toEqual(before);
      expect(new TextDecoder().decode(new Uint8Array(x.mem.buffer, 16, 7))).toBe('initial');
      expect([x.g32.value, x.g64.value, x.gf32.value, x.gf64.value, x.lane()]).toEqual([7, 8n, 1.5, 2.5, 1]);
      expect(x.gfn.value).toBe(x.a);
      expect(x.gext.value).toBeNull();
      expect([x.t.get(0), x.t.get(1), x.t.get(2), x.t.get(3)]).toEqual([x.a, x.b, null, null]);
      expect([x.callW(0), x.callW(1), x.callRo(0), x.callRo(1)]).toEqual([1, 2, 1, 2]);
    }
  });

  it('keeps the module as it was for anyone ignoring the added exports', async () => {
    const original = await watToWasm(STATEFUL);
    const { bytes } = await resettable(STATEFUL);
    const before = WebAssembly.Module.exports(new WebAssembly.Module(original as Uint8Array<ArrayBuffer>));
    const after = WebAssembly.Module.exports(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
    expect(after.filter((e) => !e.name.startsWith('spinel:reset/'))).toEqual(before);
    expect(after.filter((e) => e.name.startsWith('spinel:reset/')).map((e) => e.name)).toEqual(['spinel:reset/memory/0', RESET_SAVE_EXPORT, RESET_RESTORE_EXPORT]);
    // Custom sections (here the name section) stay.
    expect(WebAssembly.Module.customSections(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), 'name')).toHaveLength(1);
  });

  it('says a grown memory or table cannot be restored', async () => {
    const { bytes, layout } = await resettable(STATEFUL);
    for (const grow of ['growMemory', 'growTable'] as const) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
      const snapshot = new ComponentSnapshot([{ instance, layout }]);
      (instance.exports as Exports)[grow]();
      expect(snapshot.restore()).toBe(false);
    }
  });

  it('adds the sections a module lacks, in their place (no exports, no code, a start function)', async () => {
    for (const wat of [
      '(module (global $g (mut i32) (i32.const 0)) (func $f (global.set $g (i32.const 1))) (start $f))',
      '(module (table (export "t") 1 funcref))',
      '(module (memory 1) (data (i32.const 0) "x"))',
    ]) {
      const { bytes, layout } = await resettable(wat);
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
      expect(new ComponentSnapshot([{ instance, layout }]).restore()).toBe(true);
    }
    const stateless = await watToWasm('(module (func (export "f")))');
    const result = makeResettable(stateless);
    expect(result.ok && result.bytes).toBe(stateless);
  });

  it('accepts passive segments no code drops, and refuses those that can be dropped', async () => {
    const { bytes, layout } = await resettable(`(module (memory (export "m") 1) (data $p "passive")
      (func (export "init") (memory.init $p (i32.const 100) (i32.const 0) (i32.const 7))))`);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
    const snapshot = new ComponentSnapshot([{ instance, layout }]);
    const x = instance.exports as { m: WebAssembly.Memory; init(): void };
    x.init();
    expect(snapshot.restore()).toBe(true);
    expect(new Uint8Array(x.m.buffer, 100, 7).every((b) => b === 0)).toBe(true);
    x.init();
    expect(new TextDecoder().decode(new Uint8Array(x.m.buffer, 100, 7))).toBe('passive');

    expect(await refusal('(module (memory 1) (data $p "x") (func (data.drop $p)))')).toMatch(/data\.drop/);
    expect(await refusal('(module (table 1 funcref) (elem $e func $f) (func $f (elem.drop $e)))')).toMatch(/elem\.drop/);
  });

  it('refuses what it cannot restore, saying why', async () => {
    expect(await refusal('(module (memory 1 1 shared))')).toMatch(/shared memory/);
    expect(await refusal('(module (memory i64 1))')).toMatch(/memory64/);
    expect(await refusal('(module (func (export "spinel:reset/save")))')).toMatch(/already exports/);
    expect(await refusal('(module (type (struct (field i32))))')).toMatch(/GC types/);
    expect(await refusal('(module (global (mut (ref null func)) (ref.null func)) (global (mut (ref null 0)) (ref.null 0)) (type (func)))')).toBeTruthy();
    const bytes = await watToWasm(STATEFUL);
    const truncated = makeResettable(bytes.subarray(0, bytes.length - 3));
    expect(truncated.ok).toBe(false);
    expect(makeResettable(new Uint8Array([1, 2, 3])).ok).toBe(false);
    expect(() => readSections(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 7, 9]))).toThrow(WasmFormatError);
  });
});
