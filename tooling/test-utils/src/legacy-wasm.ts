import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentFromWitDir, fixtureCacheDir, cachedFixture, componentizeJs } from './wasm.js';

/**
 * Fixtures in the shapes of older Spin apps: components built against WASI's 0.2 release
 * candidates (`0.2.0-rc-2023-10-18`, `0.2.0-rc-2023-11-10`) and against Spin 1's unversioned
 * `fermyon:spin` interfaces. Their WIT is vendored under `wit/` (from spinframework/spin
 * `wit/deps/{io,clocks,random,cli,filesystem,sockets,http}-2023-*` and `wit/deps/spin@unversioned`).
 */

/** A WASI 0.2 release candidate. */
export type WasiRcName = 'rc-2023-10-18' | 'rc-2023-11-10';

const WIT_ROOT = fileURLToPath(new URL('../wit', import.meta.url));
const LEGACY_FORMAT = 1;

async function assembleWitDir(name: string, deps: Array<[from: string, to: string]>, world: string): Promise<string> {
  const dir = join(fixtureCacheDir(), `wit-legacy-${LEGACY_FORMAT}-${name}`);
  if (existsSync(join(dir, 'world.wit'))) return dir;
  const tmp = await mkdtemp(join(tmpdir(), 'spinel-wit-'));
  try {
    for (const [from, to] of deps) await cp(join(WIT_ROOT, from), join(tmp, 'deps', to), { recursive: true });
    await writeFile(join(tmp, 'world.wit'), world);
    await mkdir(dirname(dir), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await cp(tmp, dir, { recursive: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

/**
 * A WIT directory with one release candidate's WASI packages and the fixtures' worlds:
 * `http-handler` (its `wasi:http/proxy`) and `js-handler` (its `wasi:http/types` imported and its
 * incoming handler exported, for componentize-js).
 */
export async function rcWitDir(rc: WasiRcName): Promise<string> {
  const version = `0.2.0-${rc}`;
  const pkgs = await readdir(join(WIT_ROOT, `wasi-${rc}`));
  return assembleWitDir(
    rc,
    pkgs.map((p) => [`wasi-${rc}/${p}`, p]),
    `package spinel:fixtures-rc@0.1.0;

world http-handler {
  include wasi:http/proxy@${version};
}

world js-handler {
  import wasi:http/types@${version};
  export wasi:http/incoming-handler@${version};
}
`,
  );
}

/**
 * A WIT directory with Spin 1's unversioned `fermyon:spin` package and worlds: `http-trigger` and
 * `redis-trigger` (Spin's own: every platform import, one handler), `inbound-http` (key-value,
 * config and http imported; inbound-http exported), `inbound-redis` (key-value imported).
 */
export function spinWitDir(): Promise<string> {
  return assembleWitDir(
    'spin-unversioned',
    [['spin-unversioned', 'spin']],
    `package spinel:fixtures-spin@0.1.0;

world inbound-http {
  import fermyon:spin/key-value;
  import fermyon:spin/config;
  import fermyon:spin/http;
  export fermyon:spin/inbound-http;
}

world inbound-redis {
  import fermyon:spin/key-value;
  export fermyon:spin/inbound-redis;
}

world inbound-both {
  export fermyon:spin/inbound-http;
  export fermyon:spin/inbound-redis;
}
`,
  );
}

/**
 * A WIT directory for refusals: Spin 1's package with `0.2.0-rc-2023-11-10`'s WASI (world
 * `two-handlers` exports inbound-http and the rc incoming handler), and stand-ins named as
 * component-model async interfaces are (`spin:key-value/key-value@3.0.0`,
 * `wasi:http/handler@0.3.0-rc-2026-03-15`; synchronous here, since only their names are checked).
 */
export async function shapesWitDir(): Promise<string> {
  const pkgs = await readdir(join(WIT_ROOT, 'wasi-rc-2023-11-10'));
  const dir = await assembleWitDir(
    'shapes',
    [['spin-unversioned', 'spin'], ...pkgs.map((p): [string, string] => [`wasi-rc-2023-11-10/${p}`, p])],
    `package spinel:fixtures-shapes@0.1.0;

world two-handlers {
  export fermyon:spin/inbound-http;
  export wasi:http/incoming-handler@0.2.0-rc-2023-11-10;
}

world async-import {
  import spin:key-value/key-value@3.0.0;
}

world p3-handler {
  export wasi:http/handler@0.3.0-rc-2026-03-15;
}
`,
  );
  const stand = join(dir, 'deps', 'async-stand-ins');
  if (!existsSync(join(stand, 'kv.wit'))) {
    await mkdir(stand, { recursive: true });
    await writeFile(join(stand, 'kv.wit'), 'package spin:key-value@3.0.0;\n\ninterface key-value {\n  ping: func();\n}\n');
    await mkdir(join(dir, 'deps', 'p3-stand-in'), { recursive: true });
    await writeFile(join(dir, 'deps', 'p3-stand-in', 'handler.wit'), 'package wasi:http@0.3.0-rc-2026-03-15;\n\ninterface handler {\n  handle: func();\n}\n');
  }
  return dir;
}

const SHAPE_WATS = {
  'two-handlers': `(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "fermyon:spin/inbound-http#handle-request") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "wasi:http/incoming-handler@0.2.0-rc-2023-11-10#handle") (param i32 i32)))`,
  'async-import': `(module
  (import "spin:key-value/key-value@3.0.0" "ping" (func))
  (memory (export "memory") 1))`,
  'p3-handler': `(module
  (memory (export "memory") 1)
  (func (export "wasi:http/handler@0.3.0-rc-2026-03-15#handle")))`,
} as const;

/** Components that must be refused at load: `two-handlers`, `async-import`, `p3-handler` (see {@link shapesWitDir}). */
export type RefusedShapeName = keyof typeof SHAPE_WATS;

/** Path of a component {@link RefusedShapeName} names, assembled from WAT. */
export async function refusedShapeComponent(name: RefusedShapeName): Promise<string> {
  const wat = SHAPE_WATS[name];
  const witDir = await shapesWitDir();
  return cachedFixture(`wat-shape-${name}`, wat, async (out) => {
    await writeFile(out, await componentFromWitDir(wat, witDir, name));
  });
}

/** Response head and body writer shared by the two rc WAT handlers (0x100 return area, strings below it). */
function rcHandlerWat(rc: WasiRcName): string {
  const v = `0.2.0-${rc}`;
  const is1018 = rc === 'rc-2023-10-18';
  const greeting = `hello from ${rc}: `;
  const imports = is1018
    ? `(import "wasi:http/types@${v}" "[constructor]fields" (func $fields_new (param i32 i32) (result i32)))
  (import "wasi:http/types@${v}" "[constructor]outgoing-response" (func $resp_new (param i32 i32) (result i32)))
  (import "wasi:http/types@${v}" "[method]outgoing-response.write" (func $resp_body (param i32 i32)))
  (import "wasi:http/types@${v}" "[static]response-outparam.set" (func $outparam_set (param i32 i32 i32 i32 i32)))
  (import "wasi:http/types@${v}" "[static]outgoing-body.finish" (func $body_finish (param i32 i32 i32)))`
    : `(import "wasi:http/types@${v}" "[constructor]fields" (func $fields_new (result i32)))
  (import "wasi:http/types@${v}" "[method]fields.append" (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@${v}" "[constructor]outgoing-response" (func $resp_new (param i32) (result i32)))
  (import "wasi:http/types@${v}" "[method]outgoing-response.set-status-code" (func $resp_status (param i32 i32) (result i32)))
  (import "wasi:http/types@${v}" "[method]outgoing-response.body" (func $resp_body (param i32 i32)))
  (import "wasi:http/types@${v}" "[static]response-outparam.set" (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  (import "wasi:http/types@${v}" "[static]outgoing-body.finish" (func $body_finish (param i32 i32 i32 i32)))`;
  const head = is1018
    ? `(i32.store (i32.const 0x180) (i32.const 16)) (i32.store (i32.const 0x184) (i32.const 9))
    (i32.store (i32.const 0x188) (i32.const 32)) (i32.store (i32.const 0x18c) (i32.const ${rc.length}))
    (local.set $r (call $resp_new (i32.const 200) (call $fields_new (i32.const 0x180) (i32.const 1))))
    (call $resp_body (local.get $r) (i32.const 0x100))
    (local.set $b (i32.load (i32.const 0x104)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $r) (i32.const 0) (i32.const 0))`
    : `(local.set $f (call $fields_new))
    (call $fields_append (local.get $f) (i32.const 16) (i32.const 9) (i32.const 32) (i32.const ${rc.length}) (i32.const 0x100))
    (local.set $r (call $resp_new (local.get $f)))
    (drop (call $resp_status (local.get $r) (i32.const 200)))
    (call $resp_body (local.get $r) (i32.const 0x100))
    (local.set $b (i32.load (i32.const 0x104)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $r) (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))`;
  const finish = is1018 ? `(call $body_finish (local.get $b) (i32.const 0) (i32.const 0))` : `(call $body_finish (local.get $b) (i32.const 0) (i32.const 0) (i32.const 0x100))`;
  return `(module
  ${imports}
  (import "wasi:http/types@${v}" "[method]outgoing-body.write" (func $body_write (param i32 i32)))
  (import "wasi:http/types@${v}" "[method]incoming-request.path-with-query" (func $pwq (param i32 i32)))
  (import "wasi:http/types@${v}" "[method]incoming-request.consume" (func $consume (param i32 i32)))
  (import "wasi:http/types@${v}" "[method]incoming-body.stream" (func $in_stream (param i32 i32)))
  (import "wasi:io/streams@${v}" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@${v}" "[method]input-stream.blocking-read" (func $read (param i32 i64 i32)))
  (import "wasi:io/streams@${v}" "[resource-drop]output-stream" (func $drop_out (param i32)))
  (import "wasi:io/streams@${v}" "[resource-drop]input-stream" (func $drop_in (param i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (data (i32.const 16) "x-wasi-rc")
  (data (i32.const 32) "${rc}")
  (data (i32.const 64) "${greeting}")
  (data (i32.const 128) "\\n")
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1))) (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  ;; 200, x-wasi-rc: <rc>; body: greeting, path with query, a newline, then the request body.
  (func (export "wasi:http/incoming-handler@${v}#handle") (param $req i32) (param $out i32)
    (local $f i32) (local $r i32) (local $b i32) (local $s i32) (local $in i32)
    ${head}
    (call $body_write (local.get $b) (i32.const 0x100))
    (local.set $s (i32.load (i32.const 0x104)))
    (call $write (local.get $s) (i32.const 64) (i32.const ${greeting.length}) (i32.const 0x100))
    (call $pwq (local.get $req) (i32.const 0x110))
    (call $write (local.get $s) (i32.load (i32.const 0x114)) (i32.load (i32.const 0x118)) (i32.const 0x100))
    (call $write (local.get $s) (i32.const 128) (i32.const 1) (i32.const 0x100))
    (call $consume (local.get $req) (i32.const 0x100))
    (call $in_stream (i32.load (i32.const 0x104)) (i32.const 0x100))
    (local.set $in (i32.load (i32.const 0x104)))
    (block $done (loop $more
      (call $read (local.get $in) (i64.const 65536) (i32.const 0x140))
      (br_if $done (i32.load8_u (i32.const 0x140)))
      (call $write (local.get $s) (i32.load (i32.const 0x144)) (i32.load (i32.const 0x148)) (i32.const 0x100))
      (br $more)))
    (call $drop_in (local.get $in))
    (call $drop_out (local.get $s))
    ${finish})
)`;
}

/**
 * Path of a component exporting `wasi:http/incoming-handler` at a release candidate, assembled
 * from WAT against that rc's WIT: 200 with `x-wasi-rc: <rc>` and the body
 * `hello from <rc>: <path-with-query>\n` followed by the request body.
 */
export async function rcWatComponent(rc: WasiRcName): Promise<string> {
  const wat = rcHandlerWat(rc);
  const witDir = await rcWitDir(rc);
  return cachedFixture(`wat-${rc}`, wat, async (out) => {
    await writeFile(out, await componentFromWitDir(wat, witDir, 'http-handler'));
  });
}

const SPIN_HTTP_WAT = `(module
  (import "fermyon:spin/key-value" "open" (func $kv_open (param i32 i32 i32)))
  (import "fermyon:spin/key-value" "get" (func $kv_get (param i32 i32 i32 i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (data (i32.const 16) "x-spin-component")
  (data (i32.const 48) "inbound-http")
  (data (i32.const 64) "default")
  (data (i32.const 80) "messages")
  (func $realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1))) (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  ;; handle-request(request) -> response: request flattened (method, uri, headers, params,
  ;; option<body>); the response is written to a return area. A uri ending in "v" (…/kv) answers
  ;; "messages" from the default store, anything else echoes method digit, uri and body.
  (func (export "fermyon:spin/inbound-http#handle-request") (param $method i32) (param $uri i32) (param $uri_len i32) (param $h i32) (param $hl i32) (param $p i32) (param $pl i32) (param $has_body i32) (param $b i32) (param $bl i32) (result i32)
    (local $ret i32) (local $hdr i32) (local $body i32) (local $len i32)
    (local.set $ret (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 28)))
    (local.set $hdr (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 16)))
    (i32.store (local.get $hdr) (i32.const 16)) (i32.store offset=4 (local.get $hdr) (i32.const 16))
    (i32.store offset=8 (local.get $hdr) (i32.const 48)) (i32.store offset=12 (local.get $hdr) (i32.const 12))
    (i32.store16 (local.get $ret) (i32.const 200))
    (i32.store8 offset=4 (local.get $ret) (i32.const 1))
    (i32.store offset=8 (local.get $ret) (local.get $hdr))
    (i32.store offset=12 (local.get $ret) (i32.const 1))
    (if (i32.eq (i32.load8_u (i32.sub (i32.add (local.get $uri) (local.get $uri_len)) (i32.const 1))) (i32.const 118)) (then
      (call $kv_open (i32.const 64) (i32.const 7) (i32.const 0x100))
      (if (i32.load8_u (i32.const 0x100)) (then (i32.store16 (local.get $ret) (i32.const 500)) (return (local.get $ret))))
      (call $kv_get (i32.load (i32.const 0x104)) (i32.const 80) (i32.const 8) (i32.const 0x100))
      (if (i32.load8_u (i32.const 0x100)) (then (i32.store16 (local.get $ret) (i32.const 404)) (return (local.get $ret))))
      ;; result<list<u8>, error>: ok(list) at 0x104 ptr, 0x108 len
      (i32.store8 offset=16 (local.get $ret) (i32.const 1))
      (i32.store offset=20 (local.get $ret) (i32.load (i32.const 0x104)))
      (i32.store offset=24 (local.get $ret) (i32.load (i32.const 0x108)))
      (return (local.get $ret))))
    (if (i32.eqz (local.get $has_body)) (then (local.set $bl (i32.const 0))))
    (local.set $len (i32.add (i32.add (local.get $uri_len) (local.get $bl)) (i32.const 2)))
    (local.set $body (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $len)))
    (i32.store8 (local.get $body) (i32.add (i32.const 48) (local.get $method)))
    (memory.copy (i32.add (local.get $body) (i32.const 1)) (local.get $uri) (local.get $uri_len))
    (i32.store8 (i32.add (local.get $body) (i32.add (local.get $uri_len) (i32.const 1))) (i32.const 32))
    (memory.copy (i32.add (local.get $body) (i32.add (local.get $uri_len) (i32.const 2))) (local.get $b) (local.get $bl))
    (i32.store8 offset=16 (local.get $ret) (i32.const 1))
    (i32.store offset=20 (local.get $ret) (local.get $body))
    (i32.store offset=24 (local.get $ret) (local.get $len))
    (local.get $ret))
  (func (export "cabi_post_fermyon:spin/inbound-http#handle-request") (param i32))
)`;

const SPIN_BOTH_WAT = `(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "fermyon:spin/inbound-http#handle-request") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "fermyon:spin/inbound-redis#handle-message") (param i32 i32) (result i32) (i32.const 0))
)`;

/** The Spin 1 component fixtures available from {@link spinWatComponent}. */
export type SpinWatComponentName = 'inbound-http' | 'inbound-both';

/**
 * Path of a component exporting Spin 1's unversioned `fermyon:spin/inbound-http`, assembled from
 * WAT: `inbound-http` answers 200 with `x-spin-component: inbound-http` and the body
 * `<method digit><uri> <request body>`, or for a path ending in `kv` the value of "messages" in the default store
 * (through `fermyon:spin/key-value`); `inbound-both` also exports inbound-redis (for refusals).
 */
export async function spinWatComponent(name: SpinWatComponentName): Promise<string> {
  const wat = name === 'inbound-http' ? SPIN_HTTP_WAT : SPIN_BOTH_WAT;
  const witDir = await spinWitDir();
  return cachedFixture(`wat-spin-${name}`, wat, async (out) => {
    await writeFile(out, await componentFromWitDir(wat, witDir, name === 'inbound-http' ? 'inbound-http' : 'inbound-both'));
  });
}

const RC_JS = (rc: WasiRcName): string => `import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from 'wasi:http/types@0.2.0-${rc}';
const enc = new TextEncoder();
export const incomingHandler = {
  handle(request, responseOut) {
    ${
      rc === 'rc-2023-10-18'
        ? `const response = new OutgoingResponse(200, new Fields([['x-js-rc', enc.encode('${rc}')]]));
    const body = response.write();`
        : `const headers = new Fields();
    headers.append('x-js-rc', enc.encode('${rc}'));
    const response = new OutgoingResponse(headers);
    response.setStatusCode(200);
    const body = response.body();`
    }
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const stream = body.write();
    stream.blockingWriteAndFlush(enc.encode('js says hello from ' + request.pathWithQuery()));
    stream[Symbol.dispose]();
    OutgoingBody.finish(body, undefined);
  },
};
`;

const SPIN_HTTP_JS = `import { open, get, set } from 'fermyon:spin/key-value';
import { getConfig } from 'fermyon:spin/config';
import { sendRequest } from 'fermyon:spin/http';
const enc = new TextEncoder();
const dec = new TextDecoder();
const failed = (e) => ({ status: 500, headers: [['x-error', JSON.stringify(e && e.payload !== undefined ? e.payload : String(e))]], body: undefined });
export const inboundHttp = {
  handleRequest(request) {
    const path = request.uri.split('?')[0];
    const body = request.body === undefined ? '' : dec.decode(request.body);
    try {
      if (path === '/config') return { status: 200, headers: [['x-js', 'inbound-http']], body: enc.encode(getConfig(body)) };
      if (path === '/outbound') {
        const r = sendRequest({ method: 'get', uri: body, headers: [], params: [], body: undefined });
        return { status: r.status, headers: [['x-js', 'inbound-http']], body: r.body };
      }
      if (path === '/kv') {
        const store = open('default');
        if (body !== '') set(store, 'messages', enc.encode(body));
        return { status: 200, headers: [['x-js', 'inbound-http']], body: get(store, 'messages') };
      }
    } catch (e) {
      return failed(e);
    }
    const names = request.headers.map(([n]) => n).filter((n) => n.startsWith('spin-')).sort().join(',');
    return { status: 200, headers: [['x-js', 'inbound-http'], ['x-spin-headers', names]], body: enc.encode(request.method + ' ' + request.uri + ' ' + body) };
  },
};
`;

const SPIN_REDIS_JS = `import { open, get, set } from 'fermyon:spin/key-value';
const enc = new TextEncoder();
const dec = new TextDecoder();
export const inboundRedis = {
  handleMessage(payload) {
    const text = dec.decode(payload);
    if (text === 'fail') throw 'error';
    const store = open('default');
    let old = '';
    try {
      old = dec.decode(get(store, 'messages'));
    } catch {
      // no-such-key: the first message
    }
    set(store, 'messages', enc.encode(old + 'js:' + text + '\\n'));
  },
};
`;

/** The componentize-js fixtures in older shapes available from {@link legacyJsComponent}. */
export type LegacyJsComponentName = WasiRcName | 'spin-inbound-http' | 'spin-inbound-redis';

/**
 * Path of a component built by componentize-js against older WIT (so it also carries
 * StarlingMonkey's own WASI 0.2.x imports beside the old ones): `rc-2023-10-18` and
 * `rc-2023-11-10` export that rc's incoming handler (200, `x-js-rc: <rc>`, `js says hello from
 * <path>`); `spin-inbound-http` exports `fermyon:spin/inbound-http` (`/config` reads the variable
 * named in the body, `/outbound` GETs the URL in the body through `fermyon:spin/http`, `/kv` sets
 * and reads "messages" in the default store, anything else echoes method, uri, body and the
 * names of the `spin-*` headers; failures are 500 with `x-error`); `spin-inbound-redis` exports
 * `fermyon:spin/inbound-redis` and appends `js:<message>` lines to "messages" ("fail" fails).
 * The first build of each takes minutes and ~800 MB; later calls hit the cache.
 */
export async function legacyJsComponent(name: LegacyJsComponentName): Promise<string> {
  const [source, witDir, world] =
    name === 'spin-inbound-http'
      ? [SPIN_HTTP_JS, await spinWitDir(), 'inbound-http']
      : name === 'spin-inbound-redis'
        ? [SPIN_REDIS_JS, await spinWitDir(), 'inbound-redis']
        : [RC_JS(name), await rcWitDir(name), 'js-handler'];
  return cachedFixture(`js-legacy-${name}`, `${world}\0${source}`, async (out) => {
    const work = await mkdtemp(join(tmpdir(), 'spinel-js-'));
    try {
      const src = join(work, 'index.js');
      await writeFile(src, source);
      await componentizeJs({ sourcePath: src, witDir, world, out });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}
