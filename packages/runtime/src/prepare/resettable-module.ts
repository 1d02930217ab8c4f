/**
 * Makes a core module resettable, so a used instance can be put back into the state it had right
 * after instantiation instead of being replaced by a new one (see `guest/instance-snapshot.ts` for
 * the argument that memories, tables and mutable globals are the whole restorable state).
 *
 * The rewrite appends, and changes nothing that exists: every index (types, functions, tables,
 * globals) stays valid, code and data are untouched. It adds
 *  - for each table the module defines and can change after instantiation (it exports the table or
 *    its code writes it; see `wasm-code-scan.ts`), an empty snapshot table of the same element type;
 *  - for each mutable global it defines, a shadow global of the same type;
 *  - `spinel:reset/save` (`[] -> []`): copies each table into its snapshot table (`table.copy`)
 *    and each mutable global into its shadow; called once, right after instantiation;
 *  - `spinel:reset/restore` (`[] -> [i32]`): returns 0 without changing anything when a table's
 *    size differs from its snapshot (it grew), else copies snapshots and shadows back and returns 1;
 *  - an export of each memory it defines, so the host can copy memory contents.
 * Tables and globals are thus saved and restored by Wasm itself: a bulk `table.copy` of thousands
 * of entries costs microseconds where reading them one by one from JS costs a millisecond. No code
 * of the original module refers to the added tables and globals (their indices did not exist when
 * it was written), so the guest can neither read nor change a snapshot.
 *
 * A module whose state cannot be restored this way is refused with the reason, and is then run as
 * it is with a new instance per request.
 */
import { scanCode, type CodeFacts } from './wasm-code-scan.js';
import { SECTION, WasmFormatError, WasmReader, encodeName, encodeSection, encodeU32, readSections, sectionRank, type Section } from './wasm-reader.js';

/** Bumped whenever the rewrite or the layout changes, so cached rewrites are made again. */
export const RESET_REWRITE_VERSION = 2;

/** Prefix of every export the rewrite adds; a module that already uses it is refused. */
export const RESET_EXPORT_PREFIX = 'spinel:reset/';

/** Export names of the added functions. */
export const RESET_SAVE_EXPORT = `${RESET_EXPORT_PREFIX}save`;
export const RESET_RESTORE_EXPORT = `${RESET_EXPORT_PREFIX}restore`;

/** What the host needs to snapshot and restore one rewritten module. */
export interface ResetLayout {
  version: number;
  /** Export names of the memories the module defines (memory contents are copied by the host). */
  memories: string[];
  /** Whether the module has tables or mutable globals, i.e. exports {@link RESET_SAVE_EXPORT} and {@link RESET_RESTORE_EXPORT}. */
  hasSaveRestore: boolean;
  /** Indices of the tables saved by the added functions: those the module exports or its code writes (the others cannot change after instantiation). */
  tables: number[];
  /** Number of mutable globals saved by the added functions. */
  globals: number;
}

/** The outcome of {@link makeResettable}. */
export type ResettableResult = { ok: true; bytes: Uint8Array; layout: ResetLayout } | { ok: false; reason: string };

class Refused extends Error {}

const EXPORT_KIND = { func: 0, memory: 2 } as const;
const I32 = 0x7f;
const FUNCREF = 0x70;
const EXTERNREF = 0x6f;
const V128 = 0x7b;
/** Number types, v128 and the two MVP reference types: what a global may hold here. */
const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, V128, FUNCREF, EXTERNREF]);

/** A value type byte; typed references, GC types and exception references are refused. */
function valueType(r: WasmReader): number {
  const byte = r.u8();
  if (!VALUE_TYPES.has(byte)) throw new Refused(`value type 0x${byte.toString(16)} (typed or GC references, exception references) is not supported`);
  return byte;
}

function referenceType(r: WasmReader): number {
  const byte = r.u8();
  if (byte !== FUNCREF && byte !== EXTERNREF) throw new Refused(`table or segment element type 0x${byte.toString(16)} is not supported`);
  return byte;
}

/** Limits of a table (only 32-bit tables exist outside proposals). */
function tableLimits(r: WasmReader): void {
  const flags = r.u8();
  if (flags !== 0x00 && flags !== 0x01) throw new Refused(`table limits flags 0x${flags.toString(16)} (table64) are not supported`);
  r.u32();
  if (flags === 0x01) r.u32();
}

/** Limits of a memory: a shared memory is state other threads see; memory64 is not handled. */
function memoryLimits(r: WasmReader): void {
  const flags = r.u8();
  if ((flags & 0x02) !== 0) throw new Refused('a shared memory cannot be restored while other threads may use it');
  if (flags !== 0x00 && flags !== 0x01) throw new Refused(`memory limits flags 0x${flags.toString(16)} (memory64 or custom page sizes) are not supported`);
  r.u32();
  if (flags === 0x01) r.u32();
}

/** Skips a constant expression (spec §3.3.10 plus extended-const), refusing anything else. */
function constExpr(r: WasmReader): void {
  for (;;) {
    const op = r.u8();
    switch (op) {
      case 0x0b:
        return;
      case 0x41:
        r.skipLeb(32);
        break;
      case 0x42:
        r.skipLeb(64);
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0x23:
      case 0xd2:
        r.u32();
        break;
      case 0xd0:
        r.s33();
        break;
      case 0x6a:
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      case 0xfd: {
        const sub = r.u32();
        if (sub !== 12) throw new Refused(`constant expression uses SIMD opcode ${sub}`);
        r.skip(16);
        break;
      }
      default:
        throw new Refused(`constant expression uses opcode 0x${op.toString(16)}`);
    }
  }
}

function vector(r: WasmReader, item: () => void): number {
  const count = r.u32();
  for (let i = 0; i < count; i++) item();
  return count;
}

interface ModuleFacts {
  types: number;
  importedFuncs: number;
  importedTables: number;
  importedMemories: number;
  importedGlobals: number;
  definedFuncs: number;
  /** Element type of each defined table. */
  tables: number[];
  definedMemories: number;
  definedGlobals: number;
  /** Defined mutable globals: index (imports counted) and value type. */
  mutableGlobals: Array<{ index: number; type: number }>;
  exportCount: number;
  exportNames: string[];
  /** Tables (module index space) the module exports. */
  exportedTables: Set<number>;
  passiveData: boolean;
  passiveElements: boolean;
  codeCount: number;
  /** Each section's entries after its count, by section id (for appending to it). */
  entries: Map<number, Uint8Array>;
}

/** The sections read entry by entry here (the others are skipped whole, or kept as raw entries). */
const PARSED = new Set<number>([SECTION.type, SECTION.import, SECTION.function, SECTION.table, SECTION.memory, SECTION.global, SECTION.export, SECTION.element, SECTION.data]);

function readFacts(bytes: Uint8Array, sections: Section[]): ModuleFacts {
  const facts: ModuleFacts = {
    types: 0,
    importedFuncs: 0,
    importedTables: 0,
    importedMemories: 0,
    importedGlobals: 0,
    definedFuncs: 0,
    tables: [],
    definedMemories: 0,
    definedGlobals: 0,
    mutableGlobals: [],
    exportCount: 0,
    exportNames: [],
    exportedTables: new Set(),
    passiveData: false,
    passiveElements: false,
    codeCount: 0,
    entries: new Map(),
  };
  for (const s of sections) {
    if (s.id === SECTION.custom) continue;
    const r = new WasmReader(bytes, s.payloadStart, s.end);
    switch (s.id) {
      case SECTION.type:
        facts.types = vector(r, () => {
          // Recursion groups and subtypes (GC) would make type indices differ from entries.
          if (r.u8() !== 0x60) throw new Refused('the type section uses GC types');
          vector(r, () => valueType(r));
          vector(r, () => valueType(r));
        });
        break;
      case SECTION.import:
        vector(r, () => {
          r.name();
          r.name();
          const kind = r.u8();
          if (kind === 0x00) {
            r.u32();
            facts.importedFuncs++;
          } else if (kind === 0x01) {
            referenceType(r);
            tableLimits(r);
            facts.importedTables++;
          } else if (kind === 0x02) {
            memoryLimits(r);
            facts.importedMemories++;
          } else if (kind === 0x03) {
            valueType(r);
            r.u8();
            facts.importedGlobals++;
          } else if (kind === 0x04) {
            r.u8();
            r.u32();
          } else throw new Refused(`import kind 0x${kind.toString(16)} is not supported`);
        });
        break;
      case SECTION.function:
        facts.definedFuncs = vector(r, () => r.u32());
        break;
      case SECTION.table:
        vector(r, () => {
          if (r.u8() === 0x40) {
            // A table with an initialiser expression (function-references proposal).
            if (r.u8() !== 0x00) throw new WasmFormatError('malformed table', r.pos);
            facts.tables.push(referenceType(r));
            tableLimits(r);
            constExpr(r);
          } else {
            r.pos--;
            facts.tables.push(referenceType(r));
            tableLimits(r);
          }
        });
        break;
      case SECTION.memory:
        facts.definedMemories = vector(r, () => memoryLimits(r));
        break;
      case SECTION.global:
        vector(r, () => {
          const type = valueType(r);
          const mut = r.u8();
          if (mut > 1) throw new WasmFormatError('malformed global mutability', r.pos);
          constExpr(r);
          if (mut === 1) facts.mutableGlobals.push({ index: facts.importedGlobals + facts.definedGlobals, type });
          facts.definedGlobals++;
        });
        break;
      case SECTION.export:
        facts.exportCount = vector(r, () => {
          facts.exportNames.push(r.name());
          const kind = r.u8();
          const index = r.u32();
          if (kind === 0x01) facts.exportedTables.add(index);
        });
        break;
      case SECTION.element:
        vector(r, () => {
          const flags = r.u32();
          if (flags > 7) throw new WasmFormatError(`element segment flags ${flags}`, r.pos);
          // Active (0, 2, 4, 6) and declarative (3, 7) segments are dropped during instantiation,
          // so every instance holds them in the same (dropped) state. A passive segment (1, 5)
          // stays available to table.init until elem.drop: see makeResettable.
          if (flags === 1 || flags === 5) facts.passiveElements = true;
          if (flags === 1) {
            if (r.u8() !== 0x00) throw new WasmFormatError('element kind', r.pos);
          } else if (flags === 5) referenceType(r);
          if (flags === 2 || flags === 6) r.u32();
          if (flags === 0 || flags === 2 || flags === 4 || flags === 6) constExpr(r);
          if (flags === 2 || flags === 3) {
            if (r.u8() !== 0x00) throw new WasmFormatError('element kind', r.pos);
          } else if (flags === 6 || flags === 7) referenceType(r);
          if ((flags & 0x04) !== 0) vector(r, () => constExpr(r));
          else vector(r, () => r.u32());
        });
        break;
      case SECTION.data:
        vector(r, () => {
          const flags = r.u32();
          // As for element segments: only a passive segment (1) keeps state (data.drop) past
          // instantiation.
          if (flags === 1) facts.passiveData = true;
          else if (flags === 2) r.u32();
          else if (flags !== 0) throw new WasmFormatError(`data segment flags ${flags}`, r.pos);
          if (flags !== 1) constExpr(r);
          r.skip(r.u32());
        });
        break;
      case SECTION.code:
        facts.codeCount = r.u32();
        break;
      default:
        break;
    }
    if (PARSED.has(s.id) && !r.done) throw new WasmFormatError(`section ${s.id} has trailing bytes`, r.pos);
    if (s.id === SECTION.type || s.id === SECTION.function || s.id === SECTION.table || s.id === SECTION.global || s.id === SECTION.export || s.id === SECTION.code) {
      const rr = new WasmReader(bytes, s.payloadStart, s.end);
      rr.u32();
      facts.entries.set(s.id, bytes.subarray(rr.pos, s.end));
    }
  }
  if (facts.codeCount !== facts.definedFuncs) throw new WasmFormatError('function and code sections disagree', 0);
  return facts;
}

/** A zero constant expression of a global's type (the shadow's initial value, overwritten by save). */
function zeroOf(type: number): number[] {
  switch (type) {
    case 0x7f:
      return [0x41, 0x00, 0x0b];
    case 0x7e:
      return [0x42, 0x00, 0x0b];
    case 0x7d:
      return [0x43, 0, 0, 0, 0, 0x0b];
    case 0x7c:
      return [0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b];
    case V128:
      return [0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b];
    default:
      return [0xd0, type, 0x0b];
  }
}

function sectionWith(id: number, count: number, old: Uint8Array | undefined, added: number[]): Uint8Array {
  const head = encodeU32(count);
  const prior = old ?? new Uint8Array(0);
  const body = new Uint8Array(head.length + prior.length + added.length);
  body.set(head, 0);
  body.set(prior, head.length);
  body.set(added, head.length + prior.length);
  return encodeSection(id, body);
}

/** Rebuilds a module with some sections replaced or added (in their place by order rank); custom sections stay where they were. */
function withSections(bytes: Uint8Array, sections: Section[], replaced: Map<number, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const pending = new Map(replaced);
  const flushBefore = (rank: number): void => {
    for (const [id, section] of [...pending].sort((a, b) => sectionRank(a[0]) - sectionRank(b[0]))) {
      if (sectionRank(id) < rank) {
        parts.push(section);
        pending.delete(id);
      }
    }
  };
  for (const s of sections) {
    if (s.id !== SECTION.custom) flushBefore(sectionRank(s.id));
    const replacement = pending.get(s.id);
    if (s.id !== SECTION.custom && replacement !== undefined) {
      parts.push(replacement);
      pending.delete(s.id);
    } else parts.push(bytes.subarray(s.start, s.end));
  }
  flushBefore(Infinity);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function body(code: number[]): number[] {
  const withLocals = [0x00, ...code, 0x0b];
  return [...encodeU32(withLocals.length), ...withLocals];
}

/**
 * Rewrites a core module so its state can be saved after instantiation and restored later (see
 * the file comment), or says why it cannot be.
 *
 * Refused: passive data or element segments that code may drop, shared or 64-bit memories, GC or
 * typed-reference types, a module that already exports a name starting with {@link RESET_EXPORT_PREFIX}, and bytes
 * that are not a well-formed module.
 */
export function makeResettable(bytes: Uint8Array): ResettableResult {
  let sections: Section[];
  let facts: ModuleFacts;
  let code: CodeFacts;
  try {
    sections = readSections(bytes);
    facts = readFacts(bytes, sections);
    code = scanCode(bytes, sections);
  } catch (err) {
    if (err instanceof Refused || err instanceof WasmFormatError) return { ok: false, reason: err.message };
    throw err;
  }
  if (facts.exportNames.some((name) => name.startsWith(RESET_EXPORT_PREFIX))) {
    return { ok: false, reason: `the module already exports a name starting with ${RESET_EXPORT_PREFIX}` };
  }
  // A passive segment is usable by memory.init/table.init until its code drops it; whether it was
  // dropped is state no host can read or put back, so only segments no code drops are accepted.
  if (facts.passiveData && (!code.complete || code.dropsData)) return { ok: false, reason: 'a passive data segment may be dropped (data.drop), which cannot be undone' };
  if (facts.passiveElements && (!code.complete || code.dropsElements)) return { ok: false, reason: 'a passive element segment may be dropped (elem.drop), which cannot be undone' };
  // A table can change after instantiation only through instructions that write it (in this
  // module or in one it is exported to) or through the JS API on an export; a table neither
  // exported nor written by this module's code is therefore the same in every instance and needs
  // no restoring. When the scan did not understand the code, every table is restored.
  const tables: Array<{ index: number; type: number }> = [];
  facts.tables.forEach((type, i) => {
    const index = facts.importedTables + i;
    if (!code.complete || facts.exportedTables.has(index) || code.writtenTables.has(index)) tables.push({ index, type });
  });
  const memories = Array.from({ length: facts.definedMemories }, (_, i) => `${RESET_EXPORT_PREFIX}memory/${facts.importedMemories + i}`);
  const exports: number[] = [];
  memories.forEach((name, i) => exports.push(...encodeName(name), EXPORT_KIND.memory, ...encodeU32(facts.importedMemories + i)));
  const hasSaveRestore = tables.length > 0 || facts.mutableGlobals.length > 0;
  const layout: ResetLayout = { version: RESET_REWRITE_VERSION, memories, hasSaveRestore, tables: tables.map((t) => t.index), globals: facts.mutableGlobals.length };
  const replaced = new Map<number, Uint8Array>();
  let exportCount = facts.exportCount + memories.length;

  if (hasSaveRestore) {
    const tableIndex = (i: number): number[] => encodeU32((tables[i] as { index: number }).index);
    const snapshotIndex = (i: number): number[] => encodeU32(facts.importedTables + facts.tables.length + i);
    const shadowIndex = (i: number): number[] => encodeU32(facts.importedGlobals + facts.definedGlobals + i);
    const tableSize = (index: number[]): number[] => [0xfc, 16, ...index];
    const save: number[] = [];
    const restore: number[] = [];
    tables.forEach(({ type }, i) => {
      // save: the snapshot table must still be empty (save runs once), then grows to the table's size and takes a copy.
      save.push(...tableSize(snapshotIndex(i)), 0x04, 0x40, 0x00, 0x0b);
      save.push(0xd0, type, ...tableSize(tableIndex(i)), 0xfc, 15, ...snapshotIndex(i), 0x41, 0x7f, 0x46, 0x04, 0x40, 0x00, 0x0b);
      save.push(0x41, 0x00, 0x41, 0x00, ...tableSize(tableIndex(i)), 0xfc, 14, ...snapshotIndex(i), ...tableIndex(i));
      // restore, first pass: a table whose size changed cannot be restored; nothing is touched.
      restore.push(...tableSize(tableIndex(i)), ...tableSize(snapshotIndex(i)), 0x47, 0x04, 0x40, 0x41, 0x00, 0x0f, 0x0b);
    });
    tables.forEach((_, i) => {
      restore.push(0x41, 0x00, 0x41, 0x00, ...tableSize(snapshotIndex(i)), 0xfc, 14, ...tableIndex(i), ...snapshotIndex(i));
    });
    facts.mutableGlobals.forEach((g, i) => {
      save.push(0x23, ...encodeU32(g.index), 0x24, ...shadowIndex(i));
      restore.push(0x23, ...shadowIndex(i), 0x24, ...encodeU32(g.index));
    });
    restore.push(0x41, 0x01);

    const voidType = facts.types;
    replaced.set(SECTION.type, sectionWith(SECTION.type, facts.types + 2, facts.entries.get(SECTION.type), [0x60, 0x00, 0x00, 0x60, 0x00, 0x01, I32]));
    replaced.set(SECTION.function, sectionWith(SECTION.function, facts.definedFuncs + 2, facts.entries.get(SECTION.function), [...encodeU32(voidType), ...encodeU32(voidType + 1)]));
    replaced.set(SECTION.code, sectionWith(SECTION.code, facts.definedFuncs + 2, facts.entries.get(SECTION.code), [...body(save), ...body(restore)]));
    if (tables.length > 0) {
      const snapshots = tables.flatMap(({ type }) => [type, 0x00, 0x00]);
      replaced.set(SECTION.table, sectionWith(SECTION.table, facts.tables.length + tables.length, facts.entries.get(SECTION.table), snapshots));
    }
    if (facts.mutableGlobals.length > 0) {
      const shadows = facts.mutableGlobals.flatMap((g) => [g.type, 0x01, ...zeroOf(g.type)]);
      replaced.set(SECTION.global, sectionWith(SECTION.global, facts.definedGlobals + facts.mutableGlobals.length, facts.entries.get(SECTION.global), shadows));
    }
    const saveIndex = facts.importedFuncs + facts.definedFuncs;
    exports.push(...encodeName(RESET_SAVE_EXPORT), EXPORT_KIND.func, ...encodeU32(saveIndex));
    exports.push(...encodeName(RESET_RESTORE_EXPORT), EXPORT_KIND.func, ...encodeU32(saveIndex + 1));
    exportCount += 2;
  }
  if (exportCount === facts.exportCount) return { ok: true, bytes, layout };
  replaced.set(SECTION.export, sectionWith(SECTION.export, exportCount, facts.entries.get(SECTION.export), exports));
  return { ok: true, bytes: withSections(bytes, sections, replaced), layout };
}
