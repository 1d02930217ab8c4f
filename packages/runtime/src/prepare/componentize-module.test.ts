import { coreModuleWithWorld, fixtureWitDir, watToWasm } from '@spinel/test-utils';
import { describe, expect, it } from 'vitest';
import { componentNames } from './component-names.js';
import { componentizeModule, customSectionNames, embedsComponentType } from './componentize-module.js';
import { detectWasmKind } from './wasm-binary.js';

// A wasi:http handler as a core module that also calls preview1 (as Rust's std does).
const WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.3" "[resource-drop]incoming-request" (func $drop (param i32)))
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "wasi:http/incoming-handler@0.2.3#handle") (param i32 i32)
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 16)))))`;

describe('componentizeModule (wit-bindgen ≥0.5 core modules)', () => {
  it('recognises the embedded component type and encodes the module with the preview1 adapter', async () => {
    const module = await coreModuleWithWorld(WAT, await fixtureWitDir('0.2.3'), 'http-handler');
    expect(detectWasmKind(module)).toBe('module');
    expect(customSectionNames(module).some((n) => n.startsWith('component-type'))).toBe(true);
    expect(embedsComponentType(module)).toBe(true);
    const component = await componentizeModule(module);
    expect(detectWasmKind(component)).toBe('component');
    const names = componentNames(component);
    expect(names.exports).toEqual(['wasi:http/incoming-handler@0.2.3']);
    // The adapter turns fd_write into WASI 0.2 imports.
    expect(names.imports.some((n) => n.startsWith('wasi:cli/stdout@0.2.'))).toBe(true);
  });

  it('leaves modules without one alone', async () => {
    expect(embedsComponentType(await watToWasm('(module (func (export "_start")))'))).toBe(false);
  });
});
