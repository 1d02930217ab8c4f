import { describe, expect, it } from 'vitest';
import { ComponentSnapshot, GlueHandleState, SnapshotLayoutError } from './instance-snapshot.js';

const T_FLAG = 1 << 30;

describe('GlueHandleState', () => {
  it('puts handle tables, their created-reps sets and capture tables back in place', () => {
    // Shaped like jco's: [free-list head, 0, (scope, rep | T_FLAG)*], numbered by resource type with holes.
    const requests = Object.assign([T_FLAG, 0], { _createdReps: new Set<number>() });
    const fields = Object.assign([T_FLAG, 0], { _createdReps: new Set<number>() });
    const handleTables: unknown[] = [];
    handleTables[2] = requests;
    handleTables[5] = fields;
    const captured = new Map<number, object>();
    const state = new GlueHandleState({ handleTables, captureTables: [captured] });

    // A request leaves its incoming-request undropped: handle 1 holds rep 1, captured as a host object.
    requests.push(0, 1 | T_FLAG);
    requests._createdReps.add(1);
    captured.set(1, { headers: 'authorization: secret' });
    state.reset();
    expect([...requests]).toEqual([T_FLAG, 0]);
    expect(requests._createdReps.size).toBe(0);
    expect(captured.size).toBe(0);
    // The same array and map objects (the glue's closures hold them), not copies.
    expect(handleTables[2]).toBe(requests);
    expect([...fields]).toEqual([T_FLAG, 0]);
  });
});

describe('GlueHandleState bookkeeping', () => {
  it("puts the glue's bookkeeping back as it was: maps (and the globals they hold), arrays and objects", () => {
    // Shaped like jco's: ASYNC_STATE empty after instantiation, INSTANCE_FLAGS holding a may-leave
    // global, task stacks, CURRENT_TASK_META and STORE_TRAP objects.
    const asyncState = new Map<number, object>();
    const flags = new WebAssembly.Global({ value: 'i32', mutable: true }, 1);
    const instanceFlags = new Map([[0, flags]]);
    const taskIds: number[] = [];
    const taskMeta: Record<string, unknown> = {};
    const trap: Record<string, unknown> = { error: null };
    const state = new GlueHandleState({ handleTables: [], captureTables: [], bookkeeping: { ASYNC_STATE: asyncState, INSTANCE_FLAGS: instanceFlags, ASYNC_CURRENT_TASK_IDS: taskIds, CURRENT_TASK_META: taskMeta, STORE_TRAP: trap } });

    asyncState.set(0, { backpressure: 1, handles: ['left by a request'] });
    flags.value = 0;
    instanceFlags.set(1, new WebAssembly.Global({ value: 'i32', mutable: true }, 0));
    taskIds.push(7);
    taskMeta['0'] = { taskID: 7 };
    taskMeta['current'] = null;
    trap['error'] = new Error('left over');
    state.reset();
    expect(asyncState.size).toBe(0);
    expect([...instanceFlags.keys()]).toEqual([0]);
    expect(flags.value).toBe(1);
    expect(taskIds).toEqual([]);
    expect(taskMeta).toEqual({});
    expect(trap).toEqual({ error: null });
  });

  it('refuses bookkeeping that is not a container', () => {
    expect(() => new GlueHandleState({ handleTables: [], captureTables: [], bookkeeping: { ASYNC_STATE: 3 } })).toThrow(SnapshotLayoutError);
  });
});

describe('ComponentSnapshot', () => {
  it('refuses an instance that is not the rewritten module its layout names', () => {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])));
    expect(() => new ComponentSnapshot([{ instance, layout: { version: 1, memories: ['spinel:reset/memory/0'], hasSaveRestore: false, tables: [], globals: 0 } }])).toThrow(SnapshotLayoutError);
    expect(() => new ComponentSnapshot([{ instance, layout: { version: 1, memories: [], hasSaveRestore: true, tables: [], globals: 1 } }])).toThrow(SnapshotLayoutError);
  });
});
