import { componentFromWat, watToWasm } from '@spinel/test-utils';
import { describe, expect, it } from 'vitest';
import { componentNames } from './component-names.js';
import {
  HandlerSelectionError,
  MULTIPLE_HTTP_HANDLERS_MESSAGE,
  NO_HTTP_HANDLER_MESSAGE,
  classifyCoreModule,
  selectHttpHandler,
  selectRedisHandler,
} from './handler-type.js';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof HandlerSelectionError) return `${err.reason}: ${err.message}`;
    throw err;
  }
  return 'no error';
}

describe('selectHttpHandler (Spin HandlerType)', () => {
  it('accepts each of the handler exports Spin accepts', () => {
    expect(selectHttpHandler(['wasi:http/incoming-handler@0.2.3'])).toEqual({ type: 'wasi-http', flavour: '0.2', export: 'wasi:http/incoming-handler@0.2.3' });
    expect(selectHttpHandler(['wasi:http/incoming-handler@0.2.0-rc-2023-10-18'])).toMatchObject({ flavour: 'rc-2023-10-18' });
    expect(selectHttpHandler(['wasi:http/incoming-handler@0.2.0-rc-2023-11-10'])).toMatchObject({ flavour: 'rc-2023-11-10' });
    expect(selectHttpHandler(['fermyon:spin/inbound-http', 'other'])).toEqual({ type: 'spin-http', export: 'fermyon:spin/inbound-http' });
  });

  it('counts several 0.2.x exports as one handler, as a semver-compatible lookup does', () => {
    expect(selectHttpHandler(['wasi:http/incoming-handler@0.2.0', 'wasi:http/incoming-handler@0.2.6']).type).toBe('wasi-http');
  });

  it("refuses none with Spin's full message, several with Spin's, and wasi:http 0.3 as async", () => {
    expect(reason(() => selectHttpHandler(['wasi:cli/run@0.2.3']))).toBe(`none: ${NO_HTTP_HANDLER_MESSAGE}`);
    expect(NO_HTTP_HANDLER_MESSAGE).toContain('`fermyon:spin/inbound-http` but it exported none of those');
    expect(reason(() => selectHttpHandler(['fermyon:spin/inbound-http', 'wasi:http/incoming-handler@0.2.0-rc-2023-10-18']))).toBe(`multiple: ${MULTIPLE_HTTP_HANDLERS_MESSAGE}`);
    expect(reason(() => selectHttpHandler(['wasi:http/handler@0.3.0-rc-2026-03-15']))).toMatch(/^async: .*`wasi:http\/handler@0\.3\.0-rc-2026-03-15`.*component-model async is not supported yet/);
    expect(reason(() => selectHttpHandler(['wasi:http/handler@0.3.0', 'wasi:http/incoming-handler@0.2.3']))).toMatch(/^multiple/);
  });
});

describe('selectRedisHandler', () => {
  it('accepts fermyon:spin/inbound-redis and refuses the async v3 one', () => {
    expect(selectRedisHandler(['fermyon:spin/inbound-redis'])).toEqual({ type: 'spin-redis', export: 'fermyon:spin/inbound-redis' });
    expect(reason(() => selectRedisHandler(['spin:redis/inbound-redis@3.0.0']))).toMatch(/^async: .*spin:redis\/inbound-redis@3\.0\.0/);
    expect(reason(() => selectRedisHandler(['wasi:http/incoming-handler@0.2.3']))).toMatch(/^none: component does not export a Redis interface/);
  });
});

describe('classifyCoreModule', () => {
  it("recognises Spin 1 modules by their entry points and wit-bindgen's realloc, even with _start (TinyGo)", () => {
    expect(classifyCoreModule(['memory', 'handle-http-request', 'canonical_abi_realloc', 'canonical_abi_free'], ['wasi_snapshot_preview1', 'spin-config'])).toEqual({
      type: 'spin1',
      http: 'handle-http-request',
      redis: false,
      imports: ['wasi_snapshot_preview1', 'spin-config'],
    });
    expect(classifyCoreModule(['_start', 'spin_http_handle_http_request', 'canonical_abi_realloc', 'handle-redis-message'], [])).toMatchObject({ type: 'spin1', http: 'spin_http_handle_http_request', redis: true });
    expect(classifyCoreModule(['_start', 'memory'], ['wasi_snapshot_preview1'])).toEqual({ type: 'command', imports: ['wasi_snapshot_preview1'] });
    expect(classifyCoreModule(['memory'], [])).toEqual({ type: 'unknown', imports: [] });
  });
});

describe('componentNames', () => {
  it('reads the versioned top-level imports and exports of a component built here', async () => {
    const component = await componentFromWat(`(module
      (import "wasi:cli/stdout@0.2.3" "get-stdout" (func (result i32)))
      (memory (export "memory") 1)
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "wasi:http/incoming-handler@0.2.3#handle") (param i32 i32)))`);
    const names = componentNames(component);
    expect(names.exports).toEqual(['wasi:http/incoming-handler@0.2.3']);
    expect(names.imports).toContain('wasi:cli/stdout@0.2.3');
    expect(names.imports.every((n) => /@0\.2\.3$/.test(n))).toBe(true);
  });

  it('refuses a core module and a truncated binary', async () => {
    const core = await watToWasm('(module)');
    expect(() => componentNames(core)).toThrow(RangeError);
    const component = await componentFromWat('(module (memory (export "memory") 1) (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0)) (func (export "wasi:http/incoming-handler@0.2.3#handle") (param i32 i32)))');
    expect(() => componentNames(component.subarray(0, component.length - 3))).toThrow(RangeError);
  });
});
