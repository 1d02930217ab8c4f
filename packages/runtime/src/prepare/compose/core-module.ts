/**
 * Writes the small core module behind a generated adapter: one memory (exported as `memory`), a
 * bump allocator (`cabi_realloc`), data segments and functions `f0`, `f1`, … with given bodies.
 */
import { encodeName, encodeSection, encodeU32 } from '../wasm-reader.js';
import type { CoreType } from './canonical-abi.js';
import { encodeS33, vec } from './component-builder.js';

/** One function: its core signature and its body's instructions (without locals or `end`). */
export interface CoreFunction {
  readonly params: readonly CoreType[];
  readonly results: readonly CoreType[];
  readonly body: readonly number[];
}

const VALTYPE: Record<CoreType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };

/** Instructions used by adapter bodies. */
export const op = {
  unreachable: [0x00] as number[],
  i32Const: (v: number): number[] => [0x41, ...encodeS33(v | 0)],
  i64Const0: [0x42, 0x00] as number[],
  f32Const0: [0x43, 0x00, 0x00, 0x00, 0x00] as number[],
  f64Const0: [0x44, 0, 0, 0, 0, 0, 0, 0, 0] as number[],
  localGet: (i: number): number[] => [0x20, ...encodeU32(i)],
  /** Stores the i32 on the stack at `address + offset` (address below it). */
  store: (bytes: 1 | 2 | 4, offset: number): number[] => [bytes === 1 ? 0x3a : bytes === 2 ? 0x3b : 0x36, bytes === 1 ? 0 : bytes === 2 ? 1 : 2, ...encodeU32(offset)],
} as const;

// cabi_realloc(old, old_size, align, new_size): bump allocation from the global heap pointer,
// growing memory as needed; an old block is copied to the new one.
const REALLOC_BODY = [
  // p = (heap + align - 1) & -align
  0x23, 0x00, 0x20, 0x02, 0x41, 0x01, 0x6b, 0x6a, 0x41, 0x00, 0x20, 0x02, 0x6b, 0x71, 0x22, 0x04,
  // heap = p + new_size
  0x20, 0x03, 0x6a, 0x24, 0x00,
  // if heap > memory.size * 65536: grow by (heap - size*65536) / 65536 + 1 pages, trap on failure
  0x23, 0x00, 0x3f, 0x00, 0x41, 0x10, 0x74, 0x4b, 0x04, 0x40,
  0x23, 0x00, 0x3f, 0x00, 0x41, 0x10, 0x74, 0x6b, 0x41, 0x10, 0x76, 0x41, 0x01, 0x6a, 0x40, 0x00, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x00, 0x0b,
  0x0b,
  // if old: memory.copy(p, old, old_size)
  0x20, 0x00, 0x04, 0x40, 0x20, 0x04, 0x20, 0x00, 0x20, 0x01, 0xfc, 0x0a, 0x00, 0x00, 0x0b,
  0x20, 0x04,
];

/**
 * A core module exporting `memory`, `cabi_realloc` and `f<i>` for each function.
 * @param heapStart first address the allocator hands out (above the data)
 */
export function coreModule(functions: readonly CoreFunction[], data: ReadonlyArray<{ offset: number; bytes: Uint8Array }>, heapStart: number): Uint8Array {
  const signatures = [{ params: ['i32', 'i32', 'i32', 'i32'] as CoreType[], results: ['i32'] as CoreType[] }, ...functions];
  const types = vec(signatures.map((s) => [0x60, ...vec(s.params.map((p) => [VALTYPE[p]])), ...vec(s.results.map((r) => [VALTYPE[r]]))]));
  const funcs = vec(signatures.map((_, i) => encodeU32(i)));
  const memory = vec([[0x00, 0x01]]);
  const globals = vec([[0x7f, 0x01, ...op.i32Const(heapStart), 0x0b]]);
  const exports = vec([
    [...encodeName('memory'), 0x02, 0x00],
    [...encodeName('cabi_realloc'), 0x00, 0x00],
    ...functions.map((_, i) => [...encodeName(`f${i}`), 0x00, ...encodeU32(i + 1)]),
  ]);
  const bodies = [
    { locals: [[0x01, 0x7f]], code: REALLOC_BODY },
    ...functions.map((f) => ({ locals: [] as number[][], code: [...f.body] })),
  ];
  const code = vec(
    bodies.map((b) => {
      const body = [...vec(b.locals), ...b.code, 0x0b];
      return [...encodeU32(body.length), ...body];
    }),
  );
  const segments = vec(data.map((d) => [0x00, ...op.i32Const(d.offset), 0x0b, ...encodeU32(d.bytes.length), ...d.bytes]));
  const parts = [
    new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    encodeSection(1, types),
    encodeSection(3, funcs),
    encodeSection(5, memory),
    encodeSection(6, globals),
    encodeSection(7, exports),
    encodeSection(10, code),
    encodeSection(11, segments),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
