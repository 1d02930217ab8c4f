import { watToWasm } from '@spinel/test-utils';
import { describe, expect, it } from 'vitest';
import { scanCode } from './wasm-code-scan.js';
import { encodeSection, encodeU32, readSections } from './wasm-reader.js';

async function scan(wat: string): Promise<ReturnType<typeof scanCode>> {
  const bytes = await watToWasm(wat);
  return scanCode(bytes, readSections(bytes));
}

describe('scanCode', () => {
  it('names each table an instruction writes, and only those', async () => {
    const facts = await scan(`(module
      (table $t0 1 funcref) (table $t1 1 funcref) (table $t2 1 funcref) (table $t3 1 funcref)
      (table $t4 1 funcref) (table $t5 1 funcref) (table $t6 1 funcref) (table $read 1 funcref)
      (elem $e func $f)
      (type $v (func))
      (func $f
        (table.set $t0 (i32.const 0) (ref.null func))
        (drop (table.grow $t1 (ref.null func) (i32.const 1)))
        (table.fill $t2 (i32.const 0) (ref.null func) (i32.const 1))
        (table.copy $t3 $read (i32.const 0) (i32.const 0) (i32.const 1))
        (table.init $t4 $e (i32.const 0) (i32.const 0) (i32.const 1))
        (drop (table.get $read (i32.const 0)))
        (drop (table.size $t5))
        (call_indirect $t6 (type $v) (i32.const 0))))`);
    expect(facts.complete).toBe(true);
    expect([...facts.writtenTables].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(facts.dropsData).toBe(false);
    expect(facts.dropsElements).toBe(false);
  });

  it('finds data.drop and elem.drop', async () => {
    const facts = await scan('(module (memory 1) (table 1 funcref) (data $d "x") (elem $e func $f) (func $f (data.drop $d) (elem.drop $e)))');
    expect(facts).toMatchObject({ complete: true, dropsData: true, dropsElements: true });
  });

  it('decodes the immediates of control, memory, SIMD, atomics, exceptions and tail calls', async () => {
    // Each instruction with immediates that could be mistaken for opcodes: a decoder that skips
    // one wrongly reads the table.set at the end as something else (or fails).
    const facts = await scan(`(module
      (memory 1 1 shared) (table $t 2 funcref) (tag $e (param i32))
      (type $v (func)) (type $r (func (result i32)))
      (func $g (result i32) (i32.const 1))
      (func $f (param i32) (result i32) (local i64 v128 funcref)
        (block $out (result i32)
          (loop $l
            (br_table $l $out $l (i32.const 0) (i32.const 1))))
        (drop)
        (if (result i32) (i32.const 0) (then (i32.const 1)) (else (i32.const 2)))
        (drop (select (result i32) (i32.const 1) (i32.const 2) (i32.const 3)))
        (drop (i64.const -9223372036854775808)) (drop (f32.const 1.5)) (drop (f64.const -2.25))
        (i64.store offset=70000 align=4 (i32.const 0) (i64.const 1))
        (drop (memory.grow (i32.const 0)))
        (memory.copy (i32.const 0) (i32.const 1) (i32.const 1))
        (memory.fill (i32.const 0) (i32.const 1) (i32.const 1))
        (drop (v128.load offset=16 (i32.const 0)))
        (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (v128.const i64x2 1 2) (v128.const i64x2 3 4)))
        (drop (i32x4.extract_lane 3 (v128.const i32x4 0 0 0 0)))
        (drop (v128.load8_lane offset=4 7 (i32.const 0) (v128.const i64x2 0 0)))
        (drop (v128.load32_zero (i32.const 0)))
        (drop (i32x4.relaxed_trunc_f32x4_s (v128.const i32x4 0 0 0 0)))
        (drop (i32.atomic.rmw.add offset=8 (i32.const 0) (i32.const 1)))
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))
        (atomic.fence)
        (drop (i32.trunc_sat_f32_s (f32.const 0)))
        (drop (i32.extend8_s (i32.const 0)))
        (try_table (catch $e 0) (catch_all 0) (throw $e (i32.const 1)))
        try nop catch $e drop catch_all end
        (drop (ref.is_null (ref.func $g)))
        (call $g) (drop)
        (call_indirect $t (type $r) (i32.const 0)) (drop)
        (table.set $t (i32.const 1) (ref.null func))
        (return_call $g)))`);
    expect(facts.complete).toBe(true);
    expect([...facts.writtenTables]).toEqual([0]);
  });

  it('says so when it meets an instruction it does not know', () => {
    // One function whose body starts with a GC instruction (0xfb prefix); then table.set 0.
    const type = encodeSection(1, [1, 0x60, 0, 0]);
    const func = encodeSection(3, [1, 0]);
    const body = [0x00, 0xfb, 0x00, 0x00, 0x0b];
    const code = encodeSection(10, [1, ...encodeU32(body.length), ...body]);
    const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...func, ...code]);
    const facts = scanCode(bytes, readSections(bytes));
    expect(facts.complete).toBe(false);
  });
});
