/**
 * Putting used core instances back into the state they had right after instantiation, instead of
 * making new ones (for a componentize-js guest: ~1 ms against ~6 ms).
 *
 * Why a restored instance is indistinguishable, to the guest, from a new one. A core instance's
 * state (WebAssembly core spec §4.2, store and module instances) is:
 *  1. its memories: bytes and size. Bytes are copied back here; a size change (memory.grow, which
 *     cannot be undone) makes the restore fail, and the caller makes a new instance.
 *  2. its tables: elements and size. Restored by the rewrite's `spinel:reset/restore` with
 *     `table.copy` from a snapshot table; a size change (table.grow) fails the restore, with
 *     nothing touched. Tables that no code writes and that are not exported are left out by the
 *     rewrite: they cannot differ from their state after instantiation.
 *  3. its mutable globals: restored from shadow globals by the same function.
 *  4. its data and element segments: active and declarative segments are dropped during
 *     instantiation, so every instance holds them dropped; passive segments are accepted by the
 *     rewrite only when no code drops them, so they are never dropped.
 *  5. functions, tags, exports and immutable globals: fixed at instantiation.
 *  6. the start function ran during instantiation, before the snapshot.
 * Memories, tables and globals a module imports belong to the instance that defines them (restored
 * with it: a component is restored whole or not at all) or to jco's glue (the same objects a new
 * core instance would be given). Between requests no guest code is running, so there is no stack,
 * no pending call and nothing held in locals. The snapshot never lives where the guest can reach
 * it: memory contents are kept in the host, tables and globals in added ones no code refers to.
 *
 * What is not restorable is detected and answered with a new instance: memory or table growth
 * here; a trap or any other fault ends the instance (the worker discards it without restoring);
 * modules the rewrite refused are never restored at all.
 *
 * The glue's side of the guest is reset by {@link GlueHandleState}: jco's resource handle tables,
 * which map the handles a guest holds to host objects (a handle left undropped by one request must
 * not reach its host object, an `incoming-request` with its headers, in the next), and its
 * instance-wide bookkeeping (async state per component instance, task stacks, borrow scopes,
 * instance flags, the trap mark), each put back as it was right after instantiation. What else
 * the glue holds is fixed after instantiation (trampolines, lifting and lowering code, the
 * forwarders to the current core instances) or numbering that only grows (resource and scope
 * counters: the guest sees handles, which restart with the tables, never these numbers; the glue
 * is run again every `glueGenerations` instances, which bounds them).
 */
import { RESET_RESTORE_EXPORT, RESET_SAVE_EXPORT, type ResetLayout } from '../prepare/resettable-module.js';

const PAGE = 65_536;
const ZERO_PAGE = new Uint8Array(PAGE);

/** Thrown when an instance does not carry the exports its layout names (not the rewritten module). */
export class SnapshotLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotLayoutError';
  }
}

interface MemorySnapshot {
  memory: WebAssembly.Memory;
  bytes: Uint8Array;
  /** Per page: whether the snapshot page is all zeros (compared with one shared zero page). */
  zero: boolean[];
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** One core instance's memories, tables and mutable globals as they were when it was taken. */
class CoreSnapshot {
  private readonly memories: MemorySnapshot[];
  private readonly restoreTablesAndGlobals: (() => number) | undefined;

  constructor(instance: WebAssembly.Instance, layout: ResetLayout) {
    const exports = instance.exports;
    if (layout.hasSaveRestore) {
      const save = exports[RESET_SAVE_EXPORT];
      const restore = exports[RESET_RESTORE_EXPORT];
      if (typeof save !== 'function' || typeof restore !== 'function') throw new SnapshotLayoutError('the instance lacks the reset functions its layout names');
      (save as () => void)();
      this.restoreTablesAndGlobals = restore as () => number;
    }
    this.memories = layout.memories.map((name) => {
      const memory = exports[name];
      if (!(memory instanceof WebAssembly.Memory)) throw new SnapshotLayoutError(`the instance lacks the memory export ${name}`);
      const bytes = new Uint8Array(memory.buffer).slice();
      const zero: boolean[] = [];
      for (let at = 0; at < bytes.length; at += PAGE) zero.push(bytesEqual(bytes.subarray(at, at + PAGE), ZERO_PAGE));
      return { memory, bytes, zero };
    });
  }

  /** Whether every memory still has its snapshot size (tables are checked by the restore function). */
  sizesMatch(): boolean {
    return this.memories.every((m) => m.memory.buffer.byteLength === m.bytes.length);
  }

  /** Restores tables and globals, then memory; false (nothing restored) when a table grew. Call {@link sizesMatch} first. */
  restore(): boolean {
    if (this.restoreTablesAndGlobals !== undefined && this.restoreTablesAndGlobals() !== 1) return false;
    for (const { memory, bytes, zero } of this.memories) {
      const live = Buffer.from(memory.buffer);
      // Page by page, written only where it differs: a request dirties a fraction of the pages,
      // and comparing (memcmp, stopping at the first difference) costs less than writing.
      for (let page = 0, at = 0; at < bytes.length; page++, at += PAGE) {
        const want = zero[page] === true ? ZERO_PAGE : bytes.subarray(at, at + PAGE);
        if (!live.subarray(at, at + PAGE).equals(want)) live.set(want, at);
      }
    }
    return true;
  }
}

/** The state of jco's glue that belongs to the guest (see `prepare/glue-state-patch.ts`). */
export interface GlueStateTables {
  /** jco's `HANDLE_TABLES`: one array per resource type (free list and entries), with a `_createdReps` set. */
  handleTables: unknown[];
  /** jco's `captureTableN` maps from a handle's representation to the host object. */
  captureTables: Array<Map<unknown, unknown>>;
  /** jco's instance-wide bookkeeping by name (Maps, arrays and plain objects; `GLUE_BOOKKEEPING`). */
  bookkeeping?: Record<string, unknown> | undefined;
}

type HandleTable = unknown[] & { _createdReps?: Set<unknown> };

/** One container of the glue as it was when taken, put back in place (the same object: the glue's closures hold it). */
type Saved =
  | { kind: 'map'; map: Map<unknown, unknown>; entries: Array<[unknown, unknown]>; globals: Array<[WebAssembly.Global, unknown]> }
  | { kind: 'array'; array: unknown[]; items: unknown[] }
  | { kind: 'object'; object: Record<string, unknown>; entries: Array<[string, unknown]> };

function saveContainer(container: unknown): Saved | undefined {
  if (container instanceof Map) {
    const map = container as Map<unknown, unknown>;
    // jco's INSTANCE_FLAGS maps to WebAssembly.Global objects whose values are state too.
    const globals: Array<[WebAssembly.Global, unknown]> = [];
    for (const v of map.values()) if (v instanceof WebAssembly.Global) globals.push([v, v.value]);
    return { kind: 'map', map, entries: [...map], globals };
  }
  if (Array.isArray(container)) return { kind: 'array', array: container, items: container.slice() };
  if (typeof container === 'object' && container !== null) {
    const object = container as Record<string, unknown>;
    return { kind: 'object', object, entries: Object.entries(object) };
  }
  return undefined;
}

function restoreContainer(saved: Saved): void {
  switch (saved.kind) {
    case 'map':
      saved.map.clear();
      for (const [k, v] of saved.entries) saved.map.set(k, v);
      for (const [global, value] of saved.globals) if (global.value !== value) global.value = value;
      break;
    case 'array':
      saved.array.length = 0;
      saved.array.push(...saved.items);
      break;
    case 'object':
      for (const key of Object.keys(saved.object)) delete saved.object[key];
      for (const [k, v] of saved.entries) saved.object[k] = v;
      break;
  }
}

/** jco's handle tables and bookkeeping as they were when taken, put back in place (same array, map and object instances). */
export class GlueHandleState {
  private readonly tables: Array<{ table: HandleTable; entries: unknown[]; reps: unknown[] | undefined }>;
  private readonly captures: Array<{ map: Map<unknown, unknown>; entries: Array<[unknown, unknown]> }>;
  private readonly bookkeeping: Saved[];

  /** @throws SnapshotLayoutError when a bookkeeping entry is not a Map, array or object */
  constructor(state: GlueStateTables) {
    this.tables = [];
    for (const t of state.handleTables) {
      if (!Array.isArray(t)) continue; // jco numbers tables by resource type; the array has holes
      const table = t as HandleTable;
      this.tables.push({ table, entries: table.slice(), reps: table._createdReps === undefined ? undefined : [...table._createdReps] });
    }
    this.captures = state.captureTables.map((map) => ({ map, entries: [...map] }));
    this.bookkeeping = Object.entries(state.bookkeeping ?? {}).map(([name, container]) => {
      const saved = saveContainer(container);
      if (saved === undefined) throw new SnapshotLayoutError(`the glue's ${name} is not a container`);
      return saved;
    });
  }

  /** Puts every table and the bookkeeping back: handles created since are gone, and so are the host objects they held. */
  reset(): void {
    for (const { table, entries, reps } of this.tables) {
      table.length = 0;
      table.push(...entries);
      if (reps !== undefined && table._createdReps !== undefined) {
        table._createdReps.clear();
        for (const rep of reps) table._createdReps.add(rep);
      }
    }
    for (const { map, entries } of this.captures) {
      map.clear();
      for (const [k, v] of entries) map.set(k, v);
    }
    for (const saved of this.bookkeeping) restoreContainer(saved);
  }
}

/** A layout for each core instance of a component, in instantiation order. */
export interface ResettableCore {
  instance: WebAssembly.Instance;
  layout: ResetLayout;
}

/**
 * The state of all core instances of a component right after instantiation (and, when given, the
 * glue's handle tables), restorable after each request.
 * @throws SnapshotLayoutError when an instance is not the rewritten module its layout describes
 */
export class ComponentSnapshot {
  private readonly cores: CoreSnapshot[];
  private readonly glue: GlueHandleState | undefined;

  constructor(cores: readonly ResettableCore[], glue?: GlueStateTables) {
    this.cores = cores.map(({ instance, layout }) => new CoreSnapshot(instance, layout));
    this.glue = glue === undefined ? undefined : new GlueHandleState(glue);
  }

  /**
   * Puts every core instance (and the glue's handle tables) back to the snapshot. False when that
   * is not possible (a memory or table grew): the instances are then in no defined state and must
   * be replaced.
   */
  restore(): boolean {
    if (!this.cores.every((c) => c.sizesMatch())) return false;
    for (const core of this.cores) if (!core.restore()) return false;
    this.glue?.reset();
    return true;
  }
}
