/**
 * Walks every instruction of a module's code section (decoding immediates, not validating) to
 * learn what the code can change besides memory and globals: which tables it writes and whether
 * it drops data or element segments. The reset rewrite uses this to leave out tables no code can
 * write (restoring a table of thousands of functions costs a millisecond) and to accept passive
 * segments that are never dropped.
 *
 * Opcodes come from the core spec (MVP, sign extension, saturating truncation, bulk memory,
 * reference types, SIMD), threads, exception handling (legacy and `try_table`), tail calls and
 * typed function references. Anything else (GC's 0xfb prefix, unknown opcodes) ends the scan with
 * `complete: false`, and the caller then assumes the worst.
 */
import { SECTION, WasmReader, type Section } from './wasm-reader.js';

/** What the code of a module can do to tables and segments. */
export interface CodeFacts {
  /** False when an instruction was not understood; the other fields are then incomplete. */
  complete: boolean;
  /** Tables (module index space) written by `table.set`, `table.grow`, `table.fill`, `table.copy` (destination) or `table.init`. */
  writtenTables: Set<number>;
  /** Some function executes `data.drop`. */
  dropsData: boolean;
  /** Some function executes `elem.drop`. */
  dropsElements: boolean;
}

class Unknown extends Error {}

/** Reads a value type, including `(ref null? ht)` from typed function references. */
function skipValueType(r: WasmReader): void {
  const byte = r.u8();
  if (byte === 0x63 || byte === 0x64) r.s33();
}

function skipBlockType(r: WasmReader): void {
  // 0x40, a value type or a type index, all read as one s33; 0x63/0x64 (= -29/-28) carry a heap type.
  const value = r.s33();
  if (value === -29 || value === -28) r.s33();
}

function skipMemarg(r: WasmReader): void {
  const align = r.u32();
  if ((align & 0x40) !== 0) r.u32(); // multi-memory: a memory index follows
  r.skipLeb(64);
}

function scanPrefixFC(r: WasmReader, facts: CodeFacts): void {
  const sub = r.u32();
  if (sub <= 7) return;
  switch (sub) {
    case 8: // memory.init data mem
      r.u32();
      r.u32();
      return;
    case 9: // data.drop
      r.u32();
      facts.dropsData = true;
      return;
    case 10: // memory.copy
      r.u32();
      r.u32();
      return;
    case 11: // memory.fill
      r.u32();
      return;
    case 12: // table.init elem table
      r.u32();
      facts.writtenTables.add(r.u32());
      return;
    case 13: // elem.drop
      r.u32();
      facts.dropsElements = true;
      return;
    case 14: // table.copy dst src
      facts.writtenTables.add(r.u32());
      r.u32();
      return;
    case 15: // table.grow
    case 17: // table.fill
      facts.writtenTables.add(r.u32());
      return;
    case 16: // table.size
      r.u32();
      return;
    default:
      throw new Unknown();
  }
}

function scanPrefixFD(r: WasmReader): void {
  const sub = r.u32();
  if (sub <= 11 || sub === 92 || sub === 93) skipMemarg(r);
  else if (sub === 12 || sub === 13) r.skip(16);
  else if (sub >= 21 && sub <= 34) r.skip(1);
  else if (sub >= 84 && sub <= 91) {
    skipMemarg(r);
    r.skip(1);
  } else if (sub > 0x113) throw new Unknown();
}

function scanPrefixFE(r: WasmReader): void {
  const sub = r.u32();
  if (sub === 0x03) r.skip(1);
  else if (sub <= 0x4e) skipMemarg(r);
  else throw new Unknown();
}

function scanInstruction(r: WasmReader, facts: CodeFacts): void {
  const op = r.u8();
  if (op >= 0x45 && op <= 0xc4) return; // numeric instructions without immediates
  if (op >= 0x28 && op <= 0x3e) return skipMemarg(r);
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0a: case 0x0b: case 0x0f: case 0x19: case 0x1a: case 0x1b: case 0xd1: case 0xd3: case 0xd4: // prettier-ignore
      return;
    case 0x02: case 0x03: case 0x04: case 0x06: // prettier-ignore
      return skipBlockType(r);
    case 0x07: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x14: case 0x15: case 0x18: // prettier-ignore
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x3f: case 0x40: case 0xd2: case 0xd5: case 0xd6: // prettier-ignore
      r.u32();
      return;
    case 0x0e: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return;
    }
    case 0x11:
    case 0x13:
      r.u32();
      r.u32();
      return;
    case 0x1c: {
      const n = r.u32();
      for (let i = 0; i < n; i++) skipValueType(r);
      return;
    }
    case 0x1f: {
      skipBlockType(r);
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const kind = r.u8();
        if (kind === 0x00 || kind === 0x01) r.u32();
        else if (kind !== 0x02 && kind !== 0x03) throw new Unknown();
        r.u32();
      }
      return;
    }
    case 0x26: // table.set
      facts.writtenTables.add(r.u32());
      return;
    case 0x41:
      return r.skipLeb(32);
    case 0x42:
      return r.skipLeb(64);
    case 0x43:
      return r.skip(4);
    case 0x44:
      return r.skip(8);
    case 0xd0:
      r.s33();
      return;
    case 0xfc:
      return scanPrefixFC(r, facts);
    case 0xfd:
      return scanPrefixFD(r);
    case 0xfe:
      return scanPrefixFE(r);
    default:
      throw new Unknown();
  }
}

/** Scans the code section of a module whose sections were read by `readSections`. */
export function scanCode(bytes: Uint8Array, sections: readonly Section[]): CodeFacts {
  const facts: CodeFacts = { complete: true, writtenTables: new Set(), dropsData: false, dropsElements: false };
  const code = sections.find((s) => s.id === SECTION.code);
  if (code === undefined) return facts;
  const r = new WasmReader(bytes, code.payloadStart, code.end);
  try {
    const count = r.u32();
    for (let f = 0; f < count; f++) {
      const size = r.u32();
      const fn = new WasmReader(bytes, r.pos, r.pos + size);
      r.skip(size);
      const groups = fn.u32();
      for (let g = 0; g < groups; g++) {
        fn.u32();
        skipValueType(fn);
      }
      while (!fn.done) scanInstruction(fn, facts);
    }
  } catch (err) {
    if (!(err instanceof Unknown)) throw err;
    facts.complete = false;
  }
  return facts;
}
