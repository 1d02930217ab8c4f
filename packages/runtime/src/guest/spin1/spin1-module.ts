/**
 * Runs a Spin 0.x/1.x core module as it is, hosting the old wit-bindgen ABI directly (as Spin 1.x
 * did with wit-bindgen-wasmtime 0.2) instead of converting it into a component the way Spin's
 * crates/componentize does: the module gets the in-memory WASI preview1 every WAGI module gets,
 * the old ABI's Spin imports over the same host interfaces a component's imports use, and
 * `wasi_experimental_http` over the same outbound host; then its `handle-http-request` or
 * `handle-redis-message` is called with the request laid out in its memory.
 *
 * Like Spin's componentized adapter, the module's `_initialize` runs once after instantiation and
 * `_start` is never called (TinyGo modules export it; running it would run `main`).
 */
import { Preview1, ProcExit } from '../wagi/preview1.js';
import { experimentalHttpImports } from './experimental-http.js';
import { GuestMemory, type Realloc } from './guest-memory.js';
import { METHODS, putPairs, readResponse, type Spin1Request, type Spin1Response } from './http-types.js';
import { spin1Imports, type Spin1ImportContext } from './old-abi-imports.js';

/** A request as a Spin 1 module's `handle-http-request` receives it. */
export interface Spin1HttpRequest {
  /** Lower case, one of get, post, put, delete, patch, head, options. */
  method: string;
  /** Path and query. */
  uri: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/** Where a module's stdout and stderr go after each call. */
export interface Spin1Output {
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
}

/** Options of {@link instantiateSpin1Module}. */
export interface Spin1ModuleOptions {
  /** Environment of the component (its `environment` and `--env`). */
  env: ReadonlyArray<readonly [string, string]>;
  /** Guest path → host directory, read-only (the component's `files`). */
  preopens: ReadonlyArray<readonly [string, string]>;
  /** The component's host interfaces in jco's shape, by import key (`fermyon:spin/http`…). */
  host(key: string): Record<string, unknown> | undefined;
  output: Spin1Output;
}

/** Import module names a Spin 1 module may use besides the old ABI's: preview1 and the deislabs HTTP. */
const WASI_MODULES = new Set(['wasi_snapshot_preview1', 'wasi_unstable']);
const EXPERIMENTAL_HTTP = 'wasi_experimental_http';

/** Import modules of `module` this host cannot link (the loader refuses the module naming them). */
export function unlinkableSpin1Imports(module: WebAssembly.Module, known: (name: string) => boolean): string[] {
  const out = new Set<string>();
  for (const entry of WebAssembly.Module.imports(module)) {
    if (entry.kind !== 'function') out.add(`${entry.module}.${entry.name} (${entry.kind})`);
    else if (!WASI_MODULES.has(entry.module) && entry.module !== EXPERIMENTAL_HTTP && !known(entry.module)) out.add(entry.module);
  }
  return [...out];
}

/** One fresh instance of a Spin 1 module. */
export interface Spin1Instance {
  /**
   * Calls `handle-http-request` (or Go's `spin_http_handle_http_request`) and returns the
   * module's response.
   */
  handleHttp(request: Spin1HttpRequest): Spin1Response;
  /**
   * Calls `handle-redis-message`; an `err` result other than `success` is thrown (Spin 1's Go
   * bindings return `err(success)` for a handler that succeeded).
   */
  handleRedis(payload: Uint8Array): void;
}

/** The module returned an error from `handle-redis-message`. */
export class Spin1HandlerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Spin1HandlerError';
  }
}

/**
 * Instantiates a Spin 1 module with a fresh preview1 context and fresh Spin imports.
 * @throws whatever instantiation throws (a link error names the missing import; a trap in `_initialize`)
 */
export function instantiateSpin1Module(module: WebAssembly.Module, options: Spin1ModuleOptions): Spin1Instance {
  const wasi = new Preview1({ args: [], env: options.env, preopens: options.preopens });
  // Set once the instance exists; an import called from a start function finds it missing.
  const bound: { memory?: GuestMemory } = {};
  const ctx: Spin1ImportContext = {
    memory() {
      if (bound.memory === undefined) throw new Error('the module called the host before it was instantiated');
      return bound.memory;
    },
    host: options.host,
  };
  const imports: WebAssembly.Imports = {};
  for (const name of new Set(WebAssembly.Module.imports(module).map((i) => i.module))) {
    if (WASI_MODULES.has(name)) imports[name] = wasi.imports as WebAssembly.ModuleImports;
    else if (name === EXPERIMENTAL_HTTP) {
      const send = options.host('fermyon:spin/http')?.['sendRequest'] as ((r: Spin1Request) => Spin1Response) | undefined;
      imports[name] = experimentalHttpImports({ memory: ctx.memory, sendRequest: send?.bind(options.host('fermyon:spin/http')) });
    } else {
      const adapter = spin1Imports(name, ctx);
      if (adapter !== undefined) imports[name] = adapter as WebAssembly.ModuleImports;
    }
  }
  const instance = new WebAssembly.Instance(module, imports);
  const exported = instance.exports;
  const mem = exported['memory'];
  if (!(mem instanceof WebAssembly.Memory)) throw new Error('the module does not export its memory');
  wasi.bind(mem);
  const realloc = (exported['canonical_abi_realloc'] ?? exported['cabi_realloc']) as Realloc | undefined;
  const free = exported['canonical_abi_free'] as ((ptr: number, size: number, align: number) => void) | undefined;
  const m = new GuestMemory(mem, realloc);
  bound.memory = m;

  // preview1 keeps everything written; pass on only what is new since the last call.
  let sentOut = 0;
  let sentErr = 0;
  const flush = (): void => {
    const out = wasi.stdout();
    const err = wasi.stderr();
    if (out.length > sentOut) options.output.stdout(out.subarray(sentOut));
    if (err.length > sentErr) options.output.stderr(err.subarray(sentErr));
    sentOut = out.length;
    sentErr = err.length;
  };
  const run = <T>(call: () => T): T => {
    try {
      return call();
    } catch (err) {
      // A module that ends itself with proc_exit(0) inside a handler still answered nothing.
      if (err instanceof ProcExit) throw new Error(`the module exited with status ${err.code} inside its handler`);
      throw err;
    } finally {
      flush();
    }
  };

  const initialize = exported['_initialize'];
  if (typeof initialize === 'function') run(() => (initialize as () => void)());

  /** Frees what the guest returned, as wit-bindgen 0.2's host does after reading it. */
  const release = (response: { headers: [number, number] | undefined; body: [number, number] | undefined; strings: Array<[number, number]> }): void => {
    if (free === undefined) return;
    for (const [ptr, len] of response.strings) free(ptr, len, 1);
    if (response.headers !== undefined) free(response.headers[0], response.headers[1] * 16, 4);
    if (response.body !== undefined) free(response.body[0], response.body[1], 1);
  };

  const readAndRelease = (ret: number): Spin1Response => {
    const response = readResponse(m, ret);
    if (free !== undefined) {
      const flag = m.u8(ret + 4);
      const headers: [number, number] | undefined = flag === 1 ? [m.u32(ret + 8), m.u32(ret + 12)] : undefined;
      const body: [number, number] | undefined = m.u8(ret + 16) === 1 ? [m.u32(ret + 20), m.u32(ret + 24)] : undefined;
      const strings: Array<[number, number]> = [];
      if (headers !== undefined) {
        for (let i = 0; i < headers[1]; i++) {
          const at = headers[0] + i * 16;
          strings.push([m.u32(at), m.u32(at + 4)], [m.u32(at + 8), m.u32(at + 12)]);
        }
      }
      release({ headers, body, strings });
    }
    return response;
  };

  return {
    handleHttp(request) {
      const method = METHODS.indexOf(request.method as (typeof METHODS)[number]);
      if (method === -1) throw new Error(`method ${request.method} cannot be passed to a Spin 1 module`);
      return run(() => {
        const [uriPtr, uriLen] = m.putString(request.uri);
        const [hPtr, hLen] = putPairs(m, request.headers);
        const [bPtr, bLen] = m.putBytes(request.body);
        const handle = exported['handle-http-request'];
        if (typeof handle === 'function') {
          // (method, uri, headers, params, option<body>) flattened; the result is a pointer to a 28-byte response.
          const ret = (handle as (...args: number[]) => number)(method, uriPtr, uriLen, hPtr, hLen, 0, 0, 1, bPtr, bLen);
          return readAndRelease(ret);
        }
        const goHandle = exported['spin_http_handle_http_request'];
        if (typeof goHandle !== 'function') throw new Error('the module exports no handle-http-request');
        // TinyGo's export takes pointers to the request record (40 bytes) and the response record (28).
        const req = m.alloc(40, 4);
        m.setU8(req, method);
        m.setU32(req + 4, uriPtr);
        m.setU32(req + 8, uriLen);
        m.setU32(req + 12, hPtr);
        m.setU32(req + 16, hLen);
        m.setU32(req + 20, 0);
        m.setU32(req + 24, 0);
        m.setU8(req + 28, 1);
        m.setU32(req + 32, bPtr);
        m.setU32(req + 36, bLen);
        const res = m.alloc(28, 4);
        m.write(res, new Uint8Array(28));
        (goHandle as (req: number, res: number) => void)(req, res);
        return readAndRelease(res);
      });
    },
    handleRedis(payload) {
      const handle = exported['handle-redis-message'];
      if (typeof handle !== 'function') throw new Error('the module exports no handle-redis-message');
      run(() => {
        const [ptr, len] = m.putBytes(payload);
        // expected<unit, error>: discriminant byte, then the `error` enum byte.
        const ret = (handle as (p: number, l: number) => number)(ptr, len);
        if (m.u8(ret) === 1 && m.u8(ret + 1) !== 0) throw new Spin1HandlerError('handle-redis-message returned an error');
      });
    },
  };
}
