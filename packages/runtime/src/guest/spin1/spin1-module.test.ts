import { MemoryKvStore, createKvHost } from '@spinel/kv-wit';
import { spin1Module, watToWasm } from '@spinel/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { GuestMemoryError } from './guest-memory.js';
import { createVariablesHost } from '../spin/variables.js';
import { instantiateSpin1Module, unlinkableSpin1Imports, type Spin1ModuleOptions } from './spin1-module.js';
import type { Spin1Request, Spin1Response } from './http-types.js';
import { SPIN1_IMPORT_MODULES } from './old-abi-imports.js';

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Host interfaces for one instance: the real KV and variables hosts, and an outbound `sendRequest` that records its calls. */
function hostFor(options: { send?: (r: Spin1Request) => Spin1Response; labels?: string[]; kv?: MemoryKvStore } = {}) {
  const logs = { stdout: [] as string[], stderr: [] as string[] };
  const kv = createKvHost({ allowedLabels: options.labels ?? ['default'], stores: new Map([['default', options.kv ?? new MemoryKvStore()]]) });
  const variables = createVariablesHost({ greeting: 'hello from config' });
  const sent: Spin1Request[] = [];
  const host: Record<string, Record<string, unknown>> = {
    'fermyon:spin/key-value': kv.imports['fermyon:spin/key-value'] as unknown as Record<string, unknown>,
    'fermyon:spin/config': variables.spinConfig as unknown as Record<string, unknown>,
  };
  if (options.send !== undefined) {
    const send = options.send;
    host['fermyon:spin/http'] = {
      sendRequest: (r: Spin1Request) => {
        sent.push(r);
        return send(r);
      },
    };
  }
  const opts: Spin1ModuleOptions = {
    env: [['GREETING', 'hi']],
    preopens: [],
    host: (key) => host[key],
    output: { stdout: (b) => logs.stdout.push(text(b)), stderr: (b) => logs.stderr.push(text(b)) },
  };
  return { opts, logs, sent };
}

describe('Spin 1 modules (old wit-bindgen ABI)', () => {
  let http: WebAssembly.Module;
  let redis: WebAssembly.Module;
  beforeAll(async () => {
    http = await WebAssembly.compile((await spin1Module('http')) as Uint8Array<ArrayBuffer>);
    redis = await WebAssembly.compile((await spin1Module('redis')) as Uint8Array<ArrayBuffer>);
  });

  it('links every old-ABI import module the SDKs use, and names the ones it cannot', () => {
    expect(unlinkableSpin1Imports(http, (name) => (SPIN1_IMPORT_MODULES as readonly string[]).includes(name))).toEqual([]);
    expect(unlinkableSpin1Imports(http, (name) => name !== 'outbound-pg')).toEqual(['outbound-pg']);
  });

  it('passes method, uri, headers and body to handle-http-request and reads its response (after _initialize)', () => {
    const { opts, logs } = hostFor();
    const instance = instantiateSpin1Module(http, opts);
    const response = instance.handleHttp({ method: 'put', uri: '/echo?x=1', headers: [['spin-full-url', 'http://h/echo?x=1']], body: bytes('the body') });
    expect(response.status).toBe(200);
    expect(response.headers).toEqual([
      ['x-uri', '/echo?x=1'],
      ['x-method', '2'],
    ]);
    expect(text(response.body)).toBe('the body');
    expect(logs.stdout.join('')).toBe('spin1 module log\n');
  });

  it("calls TinyGo's spin_http_handle_http_request with pointers to the request and response records", async () => {
    // Only Go's own export: (request*, response*), the request laid out as wit-bindgen's C
    // `spin_http_request_t` (method, uri, headers, params, option<body>: 40 bytes).
    const go = await WebAssembly.compile((await watToWasm(`(module
      (memory (export "memory") 2)
      (global $heap (mut i32) (i32.const 65536))
      (func (export "canonical_abi_realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $heap))
        (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get 3) (i32.const 7)) (i32.const -8))))
        (local.get $p))
      (func (export "canonical_abi_free") (param i32 i32 i32))
      (func (export "_start") unreachable)
      (func (export "spin_http_handle_http_request") (param $req i32) (param $res i32)
        ;; status 200 + the method number; no headers; the body is the request's uri
        (i32.store16 (local.get $res) (i32.add (i32.const 200) (i32.load8_u (local.get $req))))
        (i32.store8 (i32.add (local.get $res) (i32.const 4)) (i32.const 0))
        (i32.store8 (i32.add (local.get $res) (i32.const 16)) (i32.load8_u (i32.add (local.get $req) (i32.const 28))))
        (i32.store (i32.add (local.get $res) (i32.const 20)) (i32.load (i32.add (local.get $req) (i32.const 4))))
        (i32.store (i32.add (local.get $res) (i32.const 24)) (i32.load (i32.add (local.get $req) (i32.const 8))))))`)) as Uint8Array<ArrayBuffer>);
    const { opts } = hostFor();
    const response = instantiateSpin1Module(go, opts).handleHttp({ method: 'post', uri: '/go?lang=tinygo', headers: [], body: bytes('ignored') });
    expect([response.status, response.headers, text(response.body)]).toEqual([201, undefined, '/go?lang=tinygo']);
  });

  it('sends outbound requests through fermyon:spin/http and lays out the response and errors as the SDKs read them', () => {
    const { opts, sent } = hostFor({
      send: (r) => (r.uri.includes('denied') ? (() => { throw { payload: 'destination-not-allowed' }; })() : { status: 203, headers: [['content-type', 'text/plain']], body: bytes(`upstream saw ${r.uri}`) }),
    });
    const ok = instantiateSpin1Module(http, opts).handleHttp({ method: 'post', uri: '/outbound', headers: [], body: bytes('http://up.example/x') });
    expect(ok.status).toBe(203);
    expect(text(ok.body)).toBe('upstream saw http://up.example/x');
    expect(sent[0]).toEqual({ method: 'get', uri: 'http://up.example/x', headers: [], params: [], body: undefined });
    const denied = instantiateSpin1Module(http, opts).handleHttp({ method: 'post', uri: '/outbound', headers: [], body: bytes('http://denied.example/') });
    expect(denied.status).toBe(500);
    expect(text(denied.body)).toBe('1'); // http-error::destination-not-allowed
  });

  it('answers destination-not-allowed when the component has no outbound HTTP at all', () => {
    const { opts } = hostFor();
    const response = instantiateSpin1Module(http, opts).handleHttp({ method: 'post', uri: '/outbound', headers: [], body: bytes('http://x/') });
    expect([response.status, text(response.body)]).toEqual([500, '1']);
  });

  it('reads variables through spin-config (value, or the error variant)', () => {
    const { opts } = hostFor();
    const found = instantiateSpin1Module(http, opts).handleHttp({ method: 'post', uri: '/config', headers: [], body: bytes('greeting') });
    expect([found.status, text(found.body)]).toEqual([200, 'hello from config']);
    const missing = instantiateSpin1Module(http, opts).handleHttp({ method: 'post', uri: '/config', headers: [], body: bytes('nope') });
    expect([missing.status, text(missing.body)]).toEqual([500, '0']); // error::provider
  });

  it('uses the key-value store through key-value (set, get), and gets access-denied for an unlisted store', () => {
    const store = new MemoryKvStore();
    const { opts } = hostFor({ kv: store });
    const set = instantiateSpin1Module(http, opts).handleHttp({ method: 'post', uri: '/kv', headers: [], body: bytes('stored value') });
    expect([set.status, text(set.body)]).toEqual([200, 'stored value']);
    expect(text(store.get('messages'))).toBe('stored value');
    const { opts: denied } = hostFor({ labels: [] });
    const refused = instantiateSpin1Module(http, denied).handleHttp({ method: 'get', uri: '/kv', headers: [], body: new Uint8Array(0) });
    expect([refused.status, text(refused.body)]).toEqual([500, '2']); // error::access-denied
  });

  it('answers outbound-redis calls with its error when no Redis host is given (never a link failure)', () => {
    const { opts } = hostFor();
    const response = instantiateSpin1Module(http, opts).handleHttp({ method: 'post', uri: '/redis', headers: [], body: bytes('msg') });
    expect(text(response.body)).toBe('1'); // expected::err
  });

  it('runs handle-redis-message: err(success) is success, err(error) and traps are failures', () => {
    const store = new MemoryKvStore();
    const { opts } = hostFor({ kv: store });
    instantiateSpin1Module(redis, opts).handleRedis(bytes('first'));
    instantiateSpin1Module(redis, opts).handleRedis(bytes('second'));
    expect(text(store.get('messages'))).toBe('first\nsecond\n');
    expect(() => instantiateSpin1Module(redis, opts).handleRedis(bytes('fail'))).toThrow(/returned an error/);
    expect(() => instantiateSpin1Module(redis, opts).handleRedis(bytes('trap'))).toThrow(WebAssembly.RuntimeError);
  });

  it('refuses a method the old ABI has no case for', () => {
    const { opts } = hostFor();
    const instance = instantiateSpin1Module(http, opts);
    expect(() => instance.handleHttp({ method: 'trace', uri: '/', headers: [], body: new Uint8Array(0) })).toThrow(/cannot be passed/);
  });

  it('fails the call on a response pointing outside the guest memory instead of reading host memory', async () => {
    const bad = await WebAssembly.compile(
      (await watToWasm(`(module
        (memory (export "memory") 1)
        (func (export "canonical_abi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
        (func (export "handle-http-request") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
          (i32.store16 (i32.const 0x200) (i32.const 200))
          (i32.store8 (i32.const 0x210) (i32.const 1))
          (i32.store (i32.const 0x214) (i32.const 0x7ffffff0))
          (i32.store (i32.const 0x218) (i32.const 64))
          (i32.const 0x200)))`)) as Uint8Array<ArrayBuffer>,
    );
    const { opts } = hostFor();
    expect(() => instantiateSpin1Module(bad, opts).handleHttp({ method: 'get', uri: '/', headers: [], body: new Uint8Array(0) })).toThrow(GuestMemoryError);
  });
});

describe('wasi_experimental_http', () => {
  let module: WebAssembly.Module;
  beforeAll(async () => {
    module = await WebAssembly.compile((await spin1Module('experimental-http')) as Uint8Array<ArrayBuffer>);
  });

  it('sends the request, then serves a header, every header and the body in small reads', () => {
    const { opts, sent } = hostFor({ send: () => ({ status: 201, headers: [['Content-Type', 'text/x-test'], ['x-other', 'y']], body: bytes('a body longer than seven bytes') }) });
    const response = instantiateSpin1Module(module, opts).handleHttp({ method: 'post', uri: '/', headers: [], body: bytes('http://up.example/path') });
    expect(response.status).toBe(201);
    expect(response.headers).toEqual([['x-upstream-type', 'text/x-test']]);
    expect(text(response.body)).toBe('a body longer than seven bytes');
    expect(sent).toEqual([{ method: 'get', uri: 'http://up.example/path', headers: [['accept', 'text/plain']], params: [], body: undefined }]);
  });

  it('maps a refused destination to destination_not_allowed (7), and no outbound host at all likewise', () => {
    const denied = hostFor({ send: () => { throw { payload: 'destination-not-allowed' }; } });
    const refused = instantiateSpin1Module(module, denied.opts).handleHttp({ method: 'post', uri: '/', headers: [], body: bytes('http://nope/') });
    expect([refused.status, refused.headers]).toEqual([502, [['x-error', '7']]]);
    const none = instantiateSpin1Module(module, hostFor().opts).handleHttp({ method: 'post', uri: '/', headers: [], body: bytes('http://nope/') });
    expect(none.headers).toEqual([['x-error', '7']]);
    const invalid = hostFor({ send: () => { throw { payload: 'invalid-url' }; } });
    expect(instantiateSpin1Module(module, invalid.opts).handleHttp({ method: 'post', uri: '/', headers: [], body: bytes('::') }).headers).toEqual([['x-error', 'a']]);
  });
});
