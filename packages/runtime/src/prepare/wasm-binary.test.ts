import { describe, expect, it } from 'vitest';
import { watToWasm } from '@spinel/test-utils';
import { capModuleMemory, detectWasmKind } from './wasm-binary.js';

describe('detectWasmKind', () => {
  it('tells core modules from components by the layer in the header', () => {
    expect(detectWasmKind(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0))).toBe('module');
    expect(detectWasmKind(Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0))).toBe('component');
    expect(detectWasmKind(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 1, 0, 0, 0))).toBeUndefined();
    expect(detectWasmKind(Uint8Array.of(0, 0x61, 0x73))).toBeUndefined();
  });
});

describe('capModuleMemory', () => {
  const grower = `(module
    (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;

  it('makes growth past the cap fail inside the guest (memory.grow returns -1)', async () => {
    const capped = capModuleMemory(await watToWasm(grower), 4);
    expect(capped.maxInitialPages).toBe(1);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(capped.bytes as Uint8Array<ArrayBuffer>));
    const grow = instance.exports['grow'] as (pages: number) => number;
    expect(grow(3)).toBe(1);
    expect(grow(1)).toBe(-1);
  });

  it('keeps a smaller maximum the module already declares', async () => {
    const bytes = await watToWasm('(module (memory 1 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))');
    const instance = new WebAssembly.Instance(new WebAssembly.Module(capModuleMemory(bytes, 100).bytes as Uint8Array<ArrayBuffer>));
    const grow = instance.exports['grow'] as (pages: number) => number;
    expect(grow(1)).toBe(1);
    expect(grow(1)).toBe(-1);
  });

  it('reports an initial size above the cap', async () => {
    expect(capModuleMemory(await watToWasm('(module (memory 8))'), 4).maxInitialPages).toBe(8);
  });

  it('leaves a module without memory unchanged', async () => {
    const bytes = await watToWasm('(module (func (export "f")))');
    expect(capModuleMemory(bytes, 4).bytes).toBe(bytes);
  });
});
