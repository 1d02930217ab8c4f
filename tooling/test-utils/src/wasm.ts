import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as JcoApi from '@bytecodealliance/jco';

/**
 * Wasm fixtures built from source at test time and cached on disk (keyed by a hash of the source
 * and the tool versions), so only the first run pays for them.
 */

const require = createRequire(import.meta.url);
const FIXTURE_FORMAT = 1;

/** Where built fixtures are kept. @default `<test-utils>/node_modules/.cache/spinel-fixtures` */
export function fixtureCacheDir(): string {
  return fileURLToPath(new URL('../node_modules/.cache/spinel-fixtures', import.meta.url));
}

function jcoRoot(): string {
  return dirname(dirname(require.resolve('@bytecodealliance/jco')));
}

async function toolVersion(pkgDir: string): Promise<string> {
  return (JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Builds a fixture once: `build(tmp)` writes it, keyed by `kind`, `source` and the tool versions. */
export async function cachedFixture(kind: string, source: string, build: (out: string) => Promise<void>, ext = 'wasm'): Promise<string> {
  const versions = `${FIXTURE_FORMAT}/${await toolVersion(jcoRoot())}`;
  const key = createHash('sha256').update(`${kind}\0${versions}\0${source}`).digest('hex').slice(0, 32);
  const dir = fixtureCacheDir();
  const file = join(dir, `${kind}-${key}.${ext}`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await build(tmp);
  await rename(tmp, file);
  return file;
}

let preopened = false;
async function wasmTools(): Promise<typeof JcoApi> {
  if (!preopened) {
    // jco's wasm-tools read WIT from disk through preview2-shim, which sees nothing unless preopened.
    const fs = (await import('@bytecodealliance/preview2-shim/filesystem' as string)) as { _setPreopens(p: Record<string, string>): void };
    fs._setPreopens({ '/': '/' });
    preopened = true;
  }
  return import('@bytecodealliance/jco');
}

/**
 * A WIT directory with the WASI 0.2 packages (from jco's bundled copy, relabelled to `version`)
 * and the fixtures' worlds: `http-handler` (wasi:http/proxy) and `http-unknown` (plus an import
 * no host provides).
 */
export async function fixtureWitDir(version = '0.2.3'): Promise<string> {
  const dir = join(fixtureCacheDir(), `wit-${FIXTURE_FORMAT}-${version}`);
  if (existsSync(join(dir, 'world.wit'))) return dir;
  const builtin = join(jcoRoot(), 'lib', 'wit', 'builtin');
  const available = (await readdir(builtin)).filter((d) => /^0\.2\.\d+$/.test(d)).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
  const source = available.at(-1);
  if (source === undefined) throw new Error(`no WASI 0.2 WIT in ${builtin}`);
  // Built beside its final place and renamed in: concurrent callers (tests in parallel on a fresh
  // cache) each build their own copy, and the first rename wins.
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  await mkdir(join(tmp, 'deps'), { recursive: true });
  for (const pkg of await readdir(join(builtin, source))) {
    const text = await readFile(join(builtin, source, pkg, 'package.wit'), 'utf8');
    await mkdir(join(tmp, 'deps', pkg), { recursive: true });
    await writeFile(join(tmp, 'deps', pkg, 'package.wit'), text.replaceAll(`@${source}`, `@${version}`));
  }
  await writeFile(
    join(tmp, 'world.wit'),
    `package spinel:fixtures@0.1.0;

interface unknown {
  ping: func();
}

world http-handler {
  include wasi:http/proxy@${version};
}

world http-unknown {
  include wasi:http/proxy@${version};
  import unknown;
}
`,
  );
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(tmp, dir);
      return dir;
    } catch (err) {
      // Another caller got there first: use theirs.
      if (existsSync(join(dir, 'world.wit'))) {
        await rm(tmp, { recursive: true, force: true });
        return dir;
      }
      // A directory left half-made by an older version of this function: replace it once.
      if (attempt > 0) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Assembles a WAT core module (or component) to bytes with jco's wasm-tools. */
export async function watToWasm(wat: string): Promise<Uint8Array> {
  const { parse } = await wasmTools();
  return parse(wat);
}

/**
 * A core module from WAT with `world`'s component type embedded (a `component-type` custom
 * section), as wit-bindgen ≥0.5 leaves modules that Spin turns into components at load.
 */
export async function coreModuleWithWorld(wat: string, witDir: string, world: string): Promise<Uint8Array> {
  const tools = await wasmTools();
  return tools.componentEmbed({ binary: await tools.parse(wat), witPath: witDir, world });
}

/** Turns a WAT core module that follows the canonical ABI into a component of `world` of the WIT in `witDir`. */
export async function componentFromWitDir(wat: string, witDir: string, world: string): Promise<Uint8Array> {
  const tools = await wasmTools();
  const core = await tools.parse(wat);
  const embedded = await tools.componentEmbed({ binary: core, witPath: witDir, world });
  return tools.componentNew(embedded);
}

/** Turns a WAT core module that follows the canonical ABI into a component of `world`. */
export async function componentFromWat(wat: string, world = 'http-handler', version = '0.2.3'): Promise<Uint8Array> {
  const tools = await wasmTools();
  const core = await tools.parse(wat);
  const embedded = await tools.componentEmbed({ binary: core, witPath: await fixtureWitDir(version), world });
  return tools.componentNew(embedded);
}

const HTTP_VERSION = '0.2.3';

// Scratch area: 0x100..0x1ff return pointers; strings below 0x100; heap from 0x10000.
/**
 * WAT of a core module exporting `wasi:http/incoming-handler@0.2.3#handle` with `body` as its
 * code: helpers `$start(out, status) -> stream`, `$write` (blocking-write-and-flush), `$finish(stream)`
 * and `$log`; scratch at 0x100..0x1ff, heap from 0x10000 (`cabi_realloc`). `extra` adds imports
 * and data.
 */
export function httpModule(body: string, extra = ''): string {
  const v = HTTP_VERSION;
  return `(module
  (import "wasi:http/types@${v}" "[constructor]fields" (func $fields_new (result i32)))
  (import "wasi:http/types@${v}" "[method]fields.append" (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@${v}" "[constructor]outgoing-response" (func $resp_new (param i32) (result i32)))
  (import "wasi:http/types@${v}" "[method]outgoing-response.set-status-code" (func $resp_status (param i32 i32) (result i32)))
  (import "wasi:http/types@${v}" "[method]outgoing-response.body" (func $resp_body (param i32 i32)))
  (import "wasi:http/types@${v}" "[static]response-outparam.set" (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  (import "wasi:http/types@${v}" "[method]outgoing-body.write" (func $body_write (param i32 i32)))
  (import "wasi:http/types@${v}" "[static]outgoing-body.finish" (func $body_finish (param i32 i32 i32 i32)))
  (import "wasi:http/types@${v}" "[method]incoming-request.consume" (func $consume (param i32 i32)))
  (import "wasi:http/types@${v}" "[method]incoming-body.stream" (func $in_stream (param i32 i32)))
  (import "wasi:http/types@${v}" "[resource-drop]incoming-body" (func $drop_in_body (param i32)))
  (import "wasi:io/streams@${v}" "[method]output-stream.blocking-write-and-flush" (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@${v}" "[resource-drop]output-stream" (func $drop_out (param i32)))
  (import "wasi:io/streams@${v}" "[method]input-stream.blocking-read" (func $read (param i32 i64 i32)))
  (import "wasi:io/streams@${v}" "[resource-drop]input-stream" (func $drop_in (param i32)))
  (import "wasi:cli/stdout@${v}" "get-stdout" (func $get_stdout (result i32)))
  ${extra}
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (global $count (mut i32) (i32.const 0))
  (global $body (mut i32) (i32.const 0))
  (data (i32.const 16) "x-fixture")
  (data (i32.const 32) "wat")
  (data (i32.const 64) "hello from wat\\n")
  (data (i32.const 128) "log line from wat\\n")
  (func $realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1))) (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (block $ok
      (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (br_if $ok (i32.ne (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1)))
      unreachable)
    (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $old_size))))
    (local.get $p))
  ;; Sends the response head (status, x-fixture: wat) and returns the body's output stream.
  (func $start (param $out i32) (param $status i32) (result i32)
    (local $f i32) (local $r i32)
    (local.set $f (call $fields_new))
    (call $fields_append (local.get $f) (i32.const 16) (i32.const 9) (i32.const 32) (i32.const 3) (i32.const 0x100))
    (local.set $r (call $resp_new (local.get $f)))
    (drop (call $resp_status (local.get $r) (local.get $status)))
    (call $resp_body (local.get $r) (i32.const 0x100))
    (global.set $body (i32.load (i32.const 0x104)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $r) (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (call $body_write (global.get $body) (i32.const 0x100))
    (i32.load (i32.const 0x104)))
  (func $finish (param $s i32)
    (call $drop_out (local.get $s))
    (call $body_finish (global.get $body) (i32.const 0) (i32.const 0) (i32.const 0x100)))
  (func $log
    (local $o i32)
    (local.set $o (call $get_stdout))
    (call $write (local.get $o) (i32.const 128) (i32.const 18) (i32.const 0x100))
    (call $drop_out (local.get $o)))
  (func (export "wasi:http/incoming-handler@${v}#handle") (param $req i32) (param $out i32)
    (local $s i32) (local $i i32) (local $in i32) (local $inbody i32) (local $n i32) (local $p i32)
    ${body})
)`;
}

const HTTP_BODIES: Record<string, string> = {
  // 200, x-fixture: wat, "hello from wat\n", one line on stdout.
  hello: `(call $log)
    (local.set $s (call $start (local.get $out) (i32.const 200)))
    (call $write (local.get $s) (i32.const 64) (i32.const 15) (i32.const 0x100))
    (call $finish (local.get $s))`,
  // 201 with the request body streamed back.
  echo: `(local.set $s (call $start (local.get $out) (i32.const 201)))
    (call $consume (local.get $req) (i32.const 0x100))
    (local.set $inbody (i32.load (i32.const 0x104)))
    (call $in_stream (local.get $inbody) (i32.const 0x100))
    (local.set $in (i32.load (i32.const 0x104)))
    (block $done (loop $more
      (global.set $heap (i32.const 65536))
      (call $read (local.get $in) (i64.const 65536) (i32.const 0x140))
      (br_if $done (i32.load8_u (i32.const 0x140)))
      (call $write (local.get $s) (i32.load (i32.const 0x144)) (i32.load (i32.const 0x148)) (i32.const 0x100))
      (br $more)))
    (call $drop_in (local.get $in))
    (call $drop_in_body (local.get $inbody))
    (call $finish (local.get $s))`,
  // 200 with 256 chunks of 64 KiB of "a" (16 MiB), written one by one.
  stream: `(memory.fill (i32.const 65536) (i32.const 97) (i32.const 65536))
    (local.set $s (call $start (local.get $out) (i32.const 200)))
    (block $done (loop $more
      (br_if $done (i32.ge_u (local.get $i) (i32.const 256)))
      (call $write (local.get $s) (i32.const 65536) (i32.const 65536) (i32.const 0x100))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $more)))
    (call $finish (local.get $s))`,
  // A counter in a global: "1" on every request of a fresh instance.
  counter: `(global.set $count (i32.add (global.get $count) (i32.const 1)))
    (local.set $n (global.get $count))
    (local.set $p (i32.const 0x1f0))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (local.set $s (call $start (local.get $out) (i32.const 200)))
    (call $write (local.get $s) (local.get $p) (i32.sub (i32.const 0x1f0) (local.get $p)) (i32.const 0x100))
    (call $finish (local.get $s))`,
  trap: `unreachable`,
  loop: `(loop $forever (br $forever))`,
  // Answers with the 32 bytes at 0x2000 (zeros in a fresh instance), then copies this request's
  // path there: a second request on the same instance would read the first one's path.
  secret: `(local.set $s (call $start (local.get $out) (i32.const 200)))
    (call $write (local.get $s) (i32.const 0x2000) (i32.const 32) (i32.const 0x100))
    (call $finish (local.get $s))
    (call $path (local.get $req) (i32.const 0x140))
    (if (i32.load8_u (i32.const 0x140))
      (then (memory.copy (i32.const 0x2000) (i32.load (i32.const 0x144))
        (select (i32.load (i32.const 0x148)) (i32.const 32) (i32.lt_u (i32.load (i32.const 0x148)) (i32.const 32))))))`,
  // Answers with the path of incoming-request handle 1, whatever request it belongs to: in a
  // fresh instance that is its own request; a handle table kept from an earlier request (whose
  // guest never dropped its request) would hand over that request's path.
  'handle-one': `(call $path (i32.const 1) (i32.const 0x140))
    (local.set $s (call $start (local.get $out) (i32.const 200)))
    (if (i32.load8_u (i32.const 0x140))
      (then (call $write (local.get $s) (i32.load (i32.const 0x144)) (i32.load (i32.const 0x148)) (i32.const 0x100))))
    (call $finish (local.get $s))`,
  // Grows memory by one page and answers with its size in pages: "3" in every fresh instance.
  grow: `(drop (memory.grow (i32.const 1)))
    (local.set $n (memory.size))
    (local.set $p (i32.const 0x1f0))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (local.set $s (call $start (local.get $out) (i32.const 200)))
    (call $write (local.get $s) (local.get $p) (i32.sub (i32.const 0x1f0) (local.get $p)) (i32.const 0x100))
    (call $finish (local.get $s))`,
  // Grows memory until a grow fails, then traps: with an instance memory cap it fails fast.
  'memory-bomb': `(block $full (loop $grow
      (br_if $full (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
      (br $grow)))
    unreachable`,
};

/** The WAT components available from {@link watComponent}. */
export type WatComponentName = 'hello' | 'echo' | 'stream' | 'counter' | 'trap' | 'loop' | 'memory-bomb' | 'secret' | 'handle-one' | 'grow' | 'unknown-import';

/** `[method]incoming-request.path-with-query`, imported only by the fixtures that read the path. */
const PATH_IMPORT = `(import "wasi:http/types@${HTTP_VERSION}" "[method]incoming-request.path-with-query" (func $path (param i32 i32)))`;

/**
 * Path of a small wasi:http component assembled from WAT (exporting incoming-handler@0.2.3):
 * `hello` (200, `x-fixture: wat`, "hello from wat\n", a stdout line), `echo` (201, request body
 * streamed back), `stream` (16 MiB in 64 KiB chunks), `counter` (a global incremented per
 * request), `trap`, `loop`, `memory-bomb`, `secret` (answers with 32 bytes of memory an earlier
 * request on the same instance would have filled with its path), `handle-one` (answers with the
 * path of incoming-request handle 1), `grow` (grows memory a page, answers its size in pages:
 * "3"), and `unknown-import` (imports an interface no host has).
 */
export async function watComponent(name: WatComponentName): Promise<string> {
  const wat = watComponentSource(name);
  return cachedFixture(`wat-${name}`, wat, async (out) => {
    await writeFile(out, await componentFromWat(wat, name === 'unknown-import' ? 'http-unknown' : 'http-handler', HTTP_VERSION));
  });
}

/**
 * Path of the `hello` wasi:http component that also imports an interface from a WIT package
 * given as text (e.g. `package fermyon:spin@2.0.0; interface llm { … }`), for load-time refusal
 * tests: `importName` is the world's import (`fermyon:spin/llm@2.0.0`), `coreImport` the WAT import
 * line of one of its functions.
 */
export async function watComponentWithImport(options: { packageWit: string; importName: string; coreImport: string }): Promise<string> {
  const wat = httpModule(HTTP_BODIES['hello'] ?? '', options.coreImport);
  return cachedFixture('wat-import', JSON.stringify([wat, options.packageWit, options.importName]), async (out) => {
    const tools = await wasmTools();
    const wit = await mkdtemp(join(tmpdir(), 'spinel-wit-import-'));
    try {
      await cp(await fixtureWitDir(HTTP_VERSION), wit, { recursive: true });
      await mkdir(join(wit, 'deps', 'extra'), { recursive: true });
      await writeFile(join(wit, 'deps', 'extra', 'package.wit'), options.packageWit);
      const world = await readFile(join(wit, 'world.wit'), 'utf8');
      await writeFile(join(wit, 'world.wit'), `${world}\nworld http-extra {\n  include wasi:http/proxy@${HTTP_VERSION};\n  import ${options.importName};\n}\n`);
      const embedded = await tools.componentEmbed({ binary: await tools.parse(wat), witPath: wit, world: 'http-extra' });
      await writeFile(out, await tools.componentNew(embedded));
    } finally {
      await rm(wit, { recursive: true, force: true });
    }
  });
}

const WAGI_ECHO = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (memory (export "memory") 3)
  (data (i32.const 16) "content-type: text/plain\\n\\n")
  (data (i32.const 48) "--\\n")
  (func $out (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; NUL-separated strings → one per line
  (func $lines (param $ptr i32) (param $len i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (if (i32.eqz (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (then (i32.store8 (i32.add (local.get $ptr) (local.get $i)) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $out (local.get $ptr) (local.get $len)))
  (func (export "_start")
    (call $out (i32.const 16) (i32.const 26))
    (drop (call $environ_sizes_get (i32.const 0x200) (i32.const 0x204)))
    (drop (call $environ_get (i32.const 0x1000) (i32.const 0x4000)))
    (call $lines (i32.const 0x4000) (i32.load (i32.const 0x204)))
    (call $out (i32.const 48) (i32.const 3))
    (drop (call $args_sizes_get (i32.const 0x200) (i32.const 0x204)))
    (drop (call $args_get (i32.const 0x7000) (i32.const 0x8000)))
    (call $lines (i32.const 0x8000) (i32.load (i32.const 0x204)))
    (call $out (i32.const 48) (i32.const 3))
    (block $eof (loop $more
      (i32.store (i32.const 0x20) (i32.const 0x10000))
      (i32.store (i32.const 0x24) (i32.const 0x10000))
      (drop (call $fd_read (i32.const 0) (i32.const 0x20) (i32.const 1) (i32.const 0x28)))
      (br_if $eof (i32.eqz (i32.load (i32.const 0x28))))
      (call $out (i32.const 0x10000) (i32.load (i32.const 0x28)))
      (br $more))))
)`;

const WAGI_LOOP = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))`;

/** The WAT core module behind {@link watComponent} (wasi:http 0.2.3, the canonical ABI), to embed or encode differently. */
export function watComponentSource(name: WatComponentName): string {
  return name === 'unknown-import'
    ? httpModule(HTTP_BODIES['hello'] ?? '', '(import "spinel:fixtures/unknown@0.1.0" "ping" (func $ping))')
    : httpModule(HTTP_BODIES[name] ?? '', name === 'secret' || name === 'handle-one' ? PATH_IMPORT : '');
}

/** The WAGI core modules available from {@link wagiModule}. */
export type WagiModuleName = 'echo' | 'loop';

/**
 * Path of a WASI preview1 command for WAGI, assembled from WAT: `echo` writes a text/plain CGI
 * header, then its environment (one per line), `--`, its argv, `--`, and stdin; `loop` never ends.
 */
export async function wagiModule(name: WagiModuleName): Promise<string> {
  const wat = name === 'echo' ? WAGI_ECHO : WAGI_LOOP;
  return cachedFixture(`wagi-${name}`, wat, async (out) => {
    await writeFile(out, await watToWasm(wat));
  });
}

const JS_SOURCES = {
  // Fetch-event style, one component with a route per behaviour.
  'fetch-event': `let count = 0;
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
async function handle(request) {
  count += 1;
  const path = new URL(request.url).pathname;
  if (path === '/echo') return new Response(await request.text(), { status: 200, headers: { 'x-style': 'fetch-event' } });
  if (path === '/counter') return new Response(String(count));
  if (path === '/loop') { for (;;) {} }
  if (path === '/memory-bomb') { const keep = []; for (;;) keep.push(new Array(1 << 20).fill(path)); }
  if (path === '/throw') throw new Error('guest failure');
  return new Response('hello from js', { status: 200, headers: { 'x-hello': 'yes', 'x-style': 'fetch-event' } });
}
`,
  // wasi:http incoming-handler exported directly.
  'incoming-handler': `import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from 'wasi:http/types@0.2.10';
let count = 0;
const encoder = new TextEncoder();
export const incomingHandler = {
  handle(request, responseOut) {
    count += 1;
    const headers = new Fields();
    headers.append('x-style', encoder.encode('incoming-handler'));
    headers.append('x-count', encoder.encode(String(count)));
    const response = new OutgoingResponse(headers);
    response.setStatusCode(200);
    const body = response.body();
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const stream = body.write();
    stream.blockingWriteAndFlush(encoder.encode('hello from ' + request.pathWithQuery()));
    stream[Symbol.dispose]();
    OutgoingBody.finish(body, undefined);
  },
};
`,
  // Isolation between requests: a module-level counter, the previous request's path kept in a
  // module-level variable, and a route that grows the guest's memory by 48 MiB and succeeds.
  isolation: `let count = 0;
let secret = '';
let keep;
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
async function handle(request) {
  count += 1;
  const path = new URL(request.url).pathname;
  if (path === '/grow') {
    keep = new Uint8Array(48 << 20);
    keep.fill(1);
  }
  const previous = secret;
  secret = path;
  return new Response(JSON.stringify({ count, previous }), { headers: { 'content-type': 'application/json' } });
}
`,
} as const;

/** The JS components available from {@link jsComponent}. */
export type JsComponentName = keyof typeof JS_SOURCES;

let jsBuilds: Promise<unknown> = Promise.resolve();

/**
 * Path of a component built from JS with componentize-js (exports incoming-handler@0.2.10):
 * `fetch-event` (routes `/` hello with `x-hello: yes`, `/echo`, `/counter`, `/loop`,
 * `/memory-bomb`, `/throw`), `incoming-handler` (exported directly; `x-count` counts requests
 * per instance) or `isolation` (answers `{"count", "previous"}`: its request count and the previous
 * request's path, both kept in module-level variables; `/grow` first allocates 48 MiB). The first build takes ~15 s and ~800 MB in a child process; later calls hit the cache.
 */
export function jsComponent(name: JsComponentName): Promise<string> {
  const source = JS_SOURCES[name];
  const run = jsBuilds.then(() =>
    cachedFixture(`js-${name}`, source, async (out) => {
      const work = await mkdtemp(join(tmpdir(), 'spinel-js-'));
      try {
        const src = join(work, 'index.js');
        await writeFile(src, source);
        await runChild([fileURLToPath(new URL('./componentize-child.js', import.meta.url)), src, await fixtureWitDir('0.2.10'), 'http-handler', out]);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }),
  );
  // One build at a time: two at once need ~1.6 GB.
  jsBuilds = run.catch(() => undefined);
  return run;
}

/**
 * Builds `source` (a JS module) into a component for `world` of the WIT in `witDir` with
 * componentize-js, in a child process (one build at a time: each needs ~800 MB), writing `out`.
 * For guests whose WIT goes beyond the fixtures' own worlds; `jsComponent` covers those.
 */
export function componentizeJs(options: { sourcePath: string; witDir: string; world: string; out: string }): Promise<void> {
  const run = jsBuilds.then(() =>
    runChild([fileURLToPath(new URL('./componentize-child.js', import.meta.url)), options.sourcePath, options.witDir, options.world, options.out]),
  );
  jsBuilds = run.catch(() => undefined);
  return run;
}

function runChild(args: string[]): Promise<void> {
  const script = args[0] ?? '';
  // From TypeScript sources (this package's own tests) the child needs tsx.
  const useTsx = !existsSync(script) && existsSync(script.replace(/\.js$/, '.ts'));
  const argv = useTsx ? ['--import', 'tsx', script.replace(/\.js$/, '.ts'), ...args.slice(1)] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dirname(fileURLToPath(import.meta.url)) });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`componentize-js failed (exit ${code}): ${stderr.slice(-2000)}`))));
  });
}
