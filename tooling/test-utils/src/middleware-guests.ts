import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { componentFromWitDir, fixtureCacheDir } from './wasm.js';

/**
 * HTTP middleware test components (WASI 0.3's `wasi:http/handler@0.3.0` chain, as Spin composes
 * it), assembled from WAT by jco's wasm-tools against a cut-down wasi:http@0.3.0 WIT (its types
 * use `stream` and `future`, as the real one's do): `handle` and `send` are `async func`s, lifted
 * and lowered with the synchronous ABI (which the component model allows for async function
 * types), so no async canonical options are needed to build them.
 * They answer nothing useful when run: they exist to be composed and inspected.
 */

const FORMAT = 2;

const HTTP_WIT = `package wasi:http@0.3.0;

interface types {
  resource fields {
    constructor();
  }
  resource request {
    constructor(headers: fields);
    get-path-with-query: func() -> option<string>;
    consume-body: static func(this: request, res: future<result<_, error-code>>) -> tuple<stream<u8>, future<result<option<fields>, error-code>>>;
  }
  resource response {
    new: static func(headers: fields, contents: option<stream<u8>>, trailers: future<result<option<fields>, error-code>>) -> tuple<response, future<result<_, error-code>>>;
  }
  variant error-code {
    HTTP-request-denied,
    internal-error(option<string>),
  }
}

interface handler {
  use types.{request, response, error-code};
  handle: async func(request: request) -> result<response, error-code>;
}

interface client {
  use types.{request, response, error-code};
  send: async func(request: request) -> result<response, error-code>;
}
`;

const CLI_WIT = `package wasi:cli@0.3.0;

interface environment {
  get-environment: func() -> list<tuple<string, string>>;
}
`;

const WORLDS = `package spinel:middleware-fixtures;

world app {
  import wasi:http/types@0.3.0;
  import wasi:cli/environment@0.3.0;
  export wasi:http/handler@0.3.0;
}

world middleware-with-capabilities {
  import wasi:http/types@0.3.0;
  import wasi:http/handler@0.3.0;
  import wasi:http/client@0.3.0;
  import wasi:cli/environment@0.3.0;
  export wasi:http/handler@0.3.0;
}

world middleware {
  import wasi:http/handler@0.3.0;
  export wasi:http/handler@0.3.0;
}

world handler-only {
  export wasi:http/handler@0.3.0;
}
`;

/** A WIT directory with the cut-down wasi:http@0.3.0 and wasi:cli@0.3.0 and the fixture worlds. */
export async function middlewareWitDir(): Promise<string> {
  const dir = join(fixtureCacheDir(), `middleware-wit-${FORMAT}`);
  if (existsSync(join(dir, 'world.wit'))) return dir;
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dir), 'middleware-wit-tmp-'));
  for (const [pkg, text] of [
    ['wasi-http', HTTP_WIT],
    ['wasi-cli', CLI_WIT],
  ] as const) {
    await mkdir(join(tmp, 'deps', pkg), { recursive: true });
    await writeFile(join(tmp, 'deps', pkg, 'package.wit'), text);
  }
  await writeFile(join(tmp, 'world.wit'), WORLDS);
  // Concurrent builders each make their own copy; the first rename wins.
  await rename(tmp, dir).catch(async (err: unknown) => {
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, 'world.wit'))) throw err;
  });
  return dir;
}

const BASE = `(memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 4096))`;

/**
 * `marker` lands in a data segment, so each fixture's bytes differ (tests find each nested
 * component of a composition by its bytes).
 */
function passThrough(marker: string, imports = ''): string {
  return `(module
  (import "wasi:http/handler@0.3.0" "handle" (func $next (param i32 i32)))
  ${imports}
  ${BASE}
  (data (i32.const 2048) "${marker}")
  (func (export "wasi:http/handler@0.3.0#handle") (param $request i32) (result i32)
    (call $next (local.get $request) (i32.const 64))
    (i32.const 64)))`;
}

/** The middleware test components. */
export type MiddlewareGuest = 'app' | 'middleware-outer' | 'middleware-inner' | 'not-middleware';

function guestWat(which: MiddlewareGuest): { wat: string; world: string } {
  switch (which) {
    case 'app':
      // The innermost handler; it reads the environment (a capability the app itself keeps), and
      // imports a function whose types hold a stream and a future.
      return {
        world: 'app',
        wat: `(module
  (import "wasi:cli/environment@0.3.0" "get-environment" (func $env (param i32)))
  (import "wasi:http/types@0.3.0" "[static]request.consume-body" (func $consume (param i32 i32 i32)))
  ${BASE}
  (data (i32.const 2048) "spinel-app")
  (func (export "wasi:http/handler@0.3.0#handle") (param $request i32) (result i32)
    (call $env (i32.const 128))
    (i32.store8 (i32.const 64) (i32.const 1))
    (i32.const 64)))`,
      };
    case 'middleware-outer':
      // Passes requests on, and imports an outbound client and the environment: host interfaces a
      // middleware reaches only when it inherits them.
      return {
        world: 'middleware-with-capabilities',
        wat: passThrough(
          'spinel-middleware-outer',
          `(import "wasi:http/client@0.3.0" "send" (func $send (param i32 i32)))
  (import "wasi:cli/environment@0.3.0" "get-environment" (func $env (param i32)))`,
        ),
      };
    case 'middleware-inner':
      return { world: 'middleware', wat: passThrough('spinel-middleware-inner') };
    case 'not-middleware':
      // Exports a handler but has no next one to call: it cannot sit in front of another.
      return {
        world: 'handler-only',
        wat: `(module
  ${BASE}
  (data (i32.const 2048) "spinel-not-middleware")
  (func (export "wasi:http/handler@0.3.0#handle") (param $request i32) (result i32) (i32.const 64)))`,
      };
  }
}

/** Bytes of one middleware-test component. */
export async function middlewareGuest(which: MiddlewareGuest): Promise<Uint8Array> {
  const { wat, world } = guestWat(which);
  return componentFromWitDir(wat, await middlewareWitDir(), world);
}

/** Writes one middleware-test component to `dir/<which>.wasm` and returns the path. */
export async function writeMiddlewareGuest(which: MiddlewareGuest, dir: string): Promise<string> {
  const path = join(dir, `${which}.wasm`);
  await writeFile(path, await middlewareGuest(which));
  return path;
}
