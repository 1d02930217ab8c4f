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

describe('ComponentSnapshot', () => {
  it('refuses an instance that is not the rewritten module its layout names', () => {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])));
    expect(() => new ComponentSnapshot([{ instance, layout: { version: 1, memories: ['spinel:reset/memory/0'], hasSaveRestore: false, tables: [], globals: 0 } }])).toThrow(SnapshotLayoutError);
    expect(() => new ComponentSnapshot([{ instance, layout: { version: 1, memories: [], hasSaveRestore: true, tables: [], globals: 1 } }])).toThrow(SnapshotLayoutError);
  });
});
