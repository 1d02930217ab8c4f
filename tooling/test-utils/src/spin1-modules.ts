/**
 * Spin 1-style core modules for the tests, assembled from WAT: the old wit-bindgen 0.2 ABI as
 * Spin's SDKs generated it (`handle-http-request` with flattened arguments and a pointer to a
 * 28-byte response, `handle-redis-message`, `canonical_abi_realloc`/`canonical_abi_free`), and
 * imports of every old-ABI module the SDKs link even when unused.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { watToWasm } from './wasm.js';

/** Bump allocator and a free that does nothing: enough for one request per instance. */
const ALLOCATOR = `
  (global $heap (mut i32) (i32.const 65536))
  (func $realloc (export "canonical_abi_realloc") (param $old i32) (param $old_len i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1))) (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (block $ok
      (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (br_if $ok (i32.ne (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1)))
      unreachable)
    (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $old_len))))
    (local.get $p))
  (func (export "canonical_abi_free") (param i32 i32 i32))`;

/**
 * Scratch layout: 0x100 iovec and counts, 0x180 import return areas, 0x200 the response record
 * (28 bytes), 0x300 response headers (two tuples), constants from 0x400.
 */
const SPIN1_HTTP = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi-outbound-http" "request" (func $http_request (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "spin-config" "get-config" (func $get_config (param i32 i32 i32)))
  (import "key-value" "open" (func $kv_open (param i32 i32 i32)))
  (import "key-value" "get" (func $kv_get (param i32 i32 i32 i32)))
  (import "key-value" "set" (func $kv_set (param i32 i32 i32 i32 i32 i32)))
  (import "outbound-redis" "publish" (func $redis_publish (param i32 i32 i32 i32 i32 i32 i32)))
  (import "outbound-redis" "get" (func $redis_get (param i32 i32 i32 i32 i32)))
  (import "redis" "set" (func $redis_set (param i32 i32 i32 i32 i32 i32 i32)))
  (import "sqlite" "open" (func $sqlite_open (param i32 i32 i32)))
  (import "outbound-pg" "query" (func $pg_query (param i32 i32 i32 i32 i32 i32 i32)))
  (import "outbound-mysql" "execute" (func $mysql_execute (param i32 i32 i32 i32 i32 i32 i32)))
  (memory (export "memory") 2)
  ${ALLOCATOR}
  (data (i32.const 0x400) "x-uri")
  (data (i32.const 0x410) "x-method")
  (data (i32.const 0x420) "0123456789")
  (data (i32.const 0x430) "spin1 module log\\n")
  (data (i32.const 0x450) "default")
  (data (i32.const 0x460) "messages")
  (data (i32.const 0x470) "redis://127.0.0.1:1")
  (data (i32.const 0x490) "ch")
  (global $initialized (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $initialized (i32.const 1)))
  ;; Sets the response: status, the two headers written at 0x300, and a body.
  (func $respond (param $status i32) (param $body i32) (param $body_len i32) (result i32)
    (i32.store16 (i32.const 0x200) (local.get $status))
    (i32.store8 (i32.const 0x204) (i32.const 1))
    (i32.store (i32.const 0x208) (i32.const 0x300))
    (i32.store (i32.const 0x20c) (i32.const 2))
    (i32.store8 (i32.const 0x210) (i32.const 1))
    (i32.store (i32.const 0x214) (local.get $body))
    (i32.store (i32.const 0x218) (local.get $body_len))
    (i32.const 0x200))
  ;; An error answer: status 500 and the error's number as one digit.
  (func $fail (param $code i32) (result i32)
    (call $respond (i32.const 500) (i32.add (i32.const 0x420) (local.get $code)) (i32.const 1)))
  (func (export "handle-http-request") (param $method i32) (param $uri i32) (param $uri_len i32) (param $h i32) (param $hl i32) (param $p i32) (param $pl i32) (param $has_body i32) (param $b i32) (param $bl i32) (result i32)
    (local $op i32) (local $store i32)
    (if (i32.eqz (global.get $initialized)) (then unreachable))
    ;; headers: x-uri: <uri>, x-method: <digit>
    (i32.store (i32.const 0x300) (i32.const 0x400)) (i32.store (i32.const 0x304) (i32.const 5))
    (i32.store (i32.const 0x308) (local.get $uri)) (i32.store (i32.const 0x30c) (local.get $uri_len))
    (i32.store (i32.const 0x310) (i32.const 0x410)) (i32.store (i32.const 0x314) (i32.const 8))
    (i32.store (i32.const 0x318) (i32.add (i32.const 0x420) (local.get $method))) (i32.store (i32.const 0x31c) (i32.const 1))
    (if (i32.eqz (local.get $has_body)) (then (local.set $bl (i32.const 0))))
    ;; the path's first letter chooses what to do
    (local.set $op (i32.load8_u (i32.add (local.get $uri) (i32.const 1))))
    ;; /outbound: GET the URL in the body through wasi-outbound-http
    (if (i32.eq (local.get $op) (i32.const 111)) (then
      (call $http_request (i32.const 0) (local.get $b) (local.get $bl) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $fail (i32.load8_u (i32.const 0x184))))))
      (if (i32.load8_u (i32.const 0x194))
        (then (return (call $respond (i32.load16_u (i32.const 0x184)) (i32.load (i32.const 0x198)) (i32.load (i32.const 0x19c))))))
      (return (call $respond (i32.load16_u (i32.const 0x184)) (i32.const 0) (i32.const 0)))))
    ;; /config: the value of the variable named in the body
    (if (i32.eq (local.get $op) (i32.const 99)) (then
      (call $get_config (local.get $b) (local.get $bl) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $fail (i32.load8_u (i32.const 0x184))))))
      (return (call $respond (i32.const 200) (i32.load (i32.const 0x184)) (i32.load (i32.const 0x188))))))
    ;; /kv: store the body under "messages" in the default store, then read it back
    (if (i32.eq (local.get $op) (i32.const 107)) (then
      (call $kv_open (i32.const 0x450) (i32.const 7) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $fail (i32.load8_u (i32.const 0x184))))))
      (local.set $store (i32.load (i32.const 0x184)))
      (if (local.get $bl) (then
        (call $kv_set (local.get $store) (i32.const 0x460) (i32.const 8) (local.get $b) (local.get $bl) (i32.const 0x180))
        (if (i32.load8_u (i32.const 0x180)) (then (return (call $fail (i32.load8_u (i32.const 0x184))))))))
      (call $kv_get (local.get $store) (i32.const 0x460) (i32.const 8) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $fail (i32.load8_u (i32.const 0x184))))))
      (return (call $respond (i32.const 200) (i32.load (i32.const 0x184)) (i32.load (i32.const 0x188))))))
    ;; /redis: publish through outbound-redis (refused: no such host is allowed); answers the error flag
    (if (i32.eq (local.get $op) (i32.const 114)) (then
      (call $redis_publish (i32.const 0x470) (i32.const 19) (i32.const 0x490) (i32.const 2) (local.get $b) (local.get $bl) (i32.const 0x180))
      (return (call $respond (i32.const 200) (i32.add (i32.const 0x420) (i32.load8_u (i32.const 0x180))) (i32.const 1)))))
    ;; anything else: echo the body, and log a line
    (i32.store (i32.const 0x100) (i32.const 0x430))
    (i32.store (i32.const 0x104) (i32.const 17))
    (drop (call $fd_write (i32.const 1) (i32.const 0x100) (i32.const 1) (i32.const 0x108)))
    (call $respond (i32.const 200) (local.get $b) (local.get $bl)))
)`;

/** A Redis handler: appends each message and a newline to "messages" in the default store. */
const SPIN1_REDIS = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "key-value" "open" (func $kv_open (param i32 i32 i32)))
  (import "key-value" "get" (func $kv_get (param i32 i32 i32 i32)))
  (import "key-value" "set" (func $kv_set (param i32 i32 i32 i32 i32 i32)))
  (import "wasi-outbound-http" "request" (func $http_request (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (memory (export "memory") 2)
  ${ALLOCATOR}
  (data (i32.const 0x450) "default")
  (data (i32.const 0x460) "messages")
  (data (i32.const 0x470) "fail")
  (func (export "handle-redis-message") (param $p i32) (param $len i32) (result i32)
    (local $store i32) (local $old i32) (local $old_len i32) (local $new i32)
    ;; a message "fail" makes the handler return err(error)
    (if (i32.and (i32.eq (local.get $len) (i32.const 4)) (i32.eq (i32.load (local.get $p)) (i32.load (i32.const 0x470)))) (then
      (i32.store8 (i32.const 0x1f0) (i32.const 1))
      (i32.store8 (i32.const 0x1f1) (i32.const 1))
      (return (i32.const 0x1f0))))
    ;; a message "trap" traps
    (if (i32.and (i32.eq (local.get $len) (i32.const 4)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 116))) (then unreachable))
    ;; a message "spin" never returns (for deadlines)
    (if (i32.and (i32.eq (local.get $len) (i32.const 4)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 115))) (then (loop $forever (br $forever))))
    (call $kv_open (i32.const 0x450) (i32.const 7) (i32.const 0x180))
    (if (i32.load8_u (i32.const 0x180)) (then unreachable))
    (local.set $store (i32.load (i32.const 0x184)))
    (call $kv_get (local.get $store) (i32.const 0x460) (i32.const 8) (i32.const 0x180))
    (if (i32.eqz (i32.load8_u (i32.const 0x180))) (then
      (local.set $old (i32.load (i32.const 0x184)))
      (local.set $old_len (i32.load (i32.const 0x188)))))
    (local.set $new (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (i32.add (i32.add (local.get $old_len) (local.get $len)) (i32.const 1))))
    (memory.copy (local.get $new) (local.get $old) (local.get $old_len))
    (memory.copy (i32.add (local.get $new) (local.get $old_len)) (local.get $p) (local.get $len))
    (i32.store8 (i32.add (local.get $new) (i32.add (local.get $old_len) (local.get $len))) (i32.const 10))
    (call $kv_set (local.get $store) (i32.const 0x460) (i32.const 8) (local.get $new) (i32.add (i32.add (local.get $old_len) (local.get $len)) (i32.const 1)) (i32.const 0x180))
    (if (i32.load8_u (i32.const 0x180)) (then unreachable))
    ;; ok(unit), written as Spin 1's Go bindings do: err(success)
    (i32.store8 (i32.const 0x1f0) (i32.const 1))
    (i32.store8 (i32.const 0x1f1) (i32.const 0))
    (i32.const 0x1f0))
)`;

/**
 * A Spin 0.x module calling out with `wasi_experimental_http`: its `handle-http-request` sends
 * GET to the URL in the request body and answers the upstream's status, its `content-type` as
 * `x-upstream-type`, and its body read 7 bytes at a time (so `body_read` streams).
 */
const EXPERIMENTAL_HTTP = `(module
  (import "wasi_experimental_http" "req" (func $req (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "close" (func $close (param i32) (result i32)))
  (import "wasi_experimental_http" "header_get" (func $header_get (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "headers_get_all" (func $headers_get_all (param i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "body_read" (func $body_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  ${ALLOCATOR}
  (data (i32.const 0x400) "GET")
  (data (i32.const 0x410) "x-upstream-type")
  (data (i32.const 0x420) "content-type")
  (data (i32.const 0x430) "x-error")
  (data (i32.const 0x440) "0123456789abcdef")
  (data (i32.const 0x460) "accept:text/plain\\n")
  (func $respond (param $status i32) (param $headers i32) (param $body i32) (param $body_len i32) (result i32)
    (i32.store16 (i32.const 0x200) (local.get $status))
    (i32.store8 (i32.const 0x204) (i32.const 1))
    (i32.store (i32.const 0x208) (i32.const 0x300))
    (i32.store (i32.const 0x20c) (local.get $headers))
    (i32.store8 (i32.const 0x210) (i32.const 1))
    (i32.store (i32.const 0x214) (local.get $body))
    (i32.store (i32.const 0x218) (local.get $body_len))
    (i32.const 0x200))
  (func (export "handle-http-request") (param $method i32) (param $uri i32) (param $uri_len i32) (param $h i32) (param $hl i32) (param $p i32) (param $pl i32) (param $has_body i32) (param $b i32) (param $bl i32) (result i32)
    (local $err i32) (local $handle i32) (local $at i32) (local $n i32)
    (local.set $err (call $req (local.get $b) (local.get $bl) (i32.const 0x400) (i32.const 3) (i32.const 0x460) (i32.const 18) (i32.const 0) (i32.const 0) (i32.const 0x180) (i32.const 0x184)))
    (if (local.get $err) (then
      ;; x-error: <error number as a hex digit>, status 502
      (i32.store (i32.const 0x300) (i32.const 0x430)) (i32.store (i32.const 0x304) (i32.const 7))
      (i32.store (i32.const 0x308) (i32.add (i32.const 0x440) (local.get $err))) (i32.store (i32.const 0x30c) (i32.const 1))
      (return (call $respond (i32.const 502) (i32.const 1) (i32.const 0) (i32.const 0)))))
    (local.set $handle (i32.load (i32.const 0x184)))
    ;; content-type into 0x1000 (up to 256 bytes)
    (i32.store (i32.const 0x300) (i32.const 0x410)) (i32.store (i32.const 0x304) (i32.const 15))
    (i32.store (i32.const 0x308) (i32.const 0x1000))
    (if (call $header_get (local.get $handle) (i32.const 0x420) (i32.const 12) (i32.const 0x1000) (i32.const 256) (i32.const 0x188))
      (then (i32.store (i32.const 0x30c) (i32.const 0)))
      (else (i32.store (i32.const 0x30c) (i32.load (i32.const 0x188)))))
    ;; every header into 0x1100, only to check it fits
    (drop (call $headers_get_all (local.get $handle) (i32.const 0x1100) (i32.const 4096) (i32.const 0x18c)))
    ;; the body, 7 bytes at a time, from 0x4000
    (local.set $at (i32.const 0x4000))
    (block $done (loop $more
      (drop (call $body_read (local.get $handle) (local.get $at) (i32.const 7) (i32.const 0x190)))
      (local.set $n (i32.load (i32.const 0x190)))
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $at (i32.add (local.get $at) (local.get $n)))
      (br $more)))
    (drop (call $close (local.get $handle)))
    (call $respond (i32.load16_u (i32.const 0x180)) (i32.const 1) (i32.const 0x4000) (i32.sub (local.get $at) (i32.const 0x4000))))
)`;

/**
 * A WAGI command calling out with `wasi_experimental_http`: GETs the URL given as its first
 * argument (the query string, by WAGI's argv) and prints a text/plain CGI response with the
 * upstream's body, or `error <n>` with the interface's error number.
 */
const EXPERIMENTAL_WAGI = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_experimental_http" "req" (func $req (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "body_read" (func $body_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "close" (func $close (param i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 0x400) "GET")
  (data (i32.const 0x410) "content-type: text/plain\\n\\n")
  (data (i32.const 0x430) "error ")
  (data (i32.const 0x440) "0123456789abcdef")
  (func $out (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0x100) (local.get $ptr))
    (i32.store (i32.const 0x104) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0x100) (i32.const 1) (i32.const 0x108))))
  (func (export "_start")
    (local $url i32) (local $url_end i32) (local $err i32) (local $handle i32) (local $at i32) (local $n i32)
    (call $out (i32.const 0x410) (i32.const 26))
    ;; argv[1] is the URL: pointers at 0x200, strings from 0x1000
    (drop (call $args_sizes_get (i32.const 0x180) (i32.const 0x184)))
    (drop (call $args_get (i32.const 0x200) (i32.const 0x1000)))
    (local.set $url (i32.load (i32.const 0x204)))
    (local.set $url_end (local.get $url))
    (block $end (loop $scan
      (br_if $end (i32.eqz (i32.load8_u (local.get $url_end))))
      (local.set $url_end (i32.add (local.get $url_end) (i32.const 1)))
      (br $scan)))
    (local.set $err (call $req (local.get $url) (i32.sub (local.get $url_end) (local.get $url)) (i32.const 0x400) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0x188) (i32.const 0x18c)))
    (if (local.get $err) (then
      (call $out (i32.const 0x430) (i32.const 6))
      (call $out (i32.add (i32.const 0x440) (local.get $err)) (i32.const 1))
      (return)))
    (local.set $handle (i32.load (i32.const 0x18c)))
    (local.set $at (i32.const 0x8000))
    (block $done (loop $more
      (drop (call $body_read (local.get $handle) (local.get $at) (i32.const 4096) (i32.const 0x190)))
      (local.set $n (i32.load (i32.const 0x190)))
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $at (i32.add (local.get $at) (local.get $n)))
      (br $more)))
    (drop (call $close (local.get $handle)))
    (call $out (i32.const 0x8000) (i32.sub (local.get $at) (i32.const 0x8000))))
)`;

/**
 * A Spin 1 module reaching the backends through its old-ABI imports, the address (or nothing, for
 * SQLite) in the request body. Each path answers a status and a body computed by the backend:
 * `/redis` sets "spin1-key", increments "spin1-counter" and reads the key back (status 200 + the
 * counter, body the value); `/pg` and `/mysql` run one `execute`, then a query of a text and an
 * int parameter (`SELECT <text> || '!', <int> + 1`; status the int column, body the text column,
 * `x-count` the rows `execute` reported for PostgreSQL); `/sqlite` opens "default", creates a
 * table, inserts the body and answers `count(*) + 200` and the rows joined by ",". A failed call
 * answers 500 with the error's text (rdbms, SQLite) or "redis error".
 */
const SPIN1_SERVICES = `(module
  (import "outbound-redis" "set" (func $redis_set (param i32 i32 i32 i32 i32 i32 i32)))
  (import "outbound-redis" "get" (func $redis_get (param i32 i32 i32 i32 i32)))
  (import "outbound-redis" "incr" (func $redis_incr (param i32 i32 i32 i32 i32)))
  (import "outbound-pg" "query" (func $pg_query (param i32 i32 i32 i32 i32 i32 i32)))
  (import "outbound-pg" "execute" (func $pg_execute (param i32 i32 i32 i32 i32 i32 i32)))
  (import "outbound-mysql" "query" (func $mysql_query (param i32 i32 i32 i32 i32 i32 i32)))
  (import "outbound-mysql" "execute" (func $mysql_execute (param i32 i32 i32 i32 i32 i32 i32)))
  (import "sqlite" "open" (func $sqlite_open (param i32 i32 i32)))
  (import "sqlite" "execute" (func $sqlite_execute (param i32 i32 i32 i32 i32 i32)))
  (import "sqlite" "close" (func $sqlite_close (param i32)))
  (memory (export "memory") 2)
  ${ALLOCATOR}
  (data (i32.const 0x400) "spin1-key")
  (data (i32.const 0x410) "spin1-counter")
  (data (i32.const 0x420) "from spin1")
  (data (i32.const 0x430) "x-count")
  (data (i32.const 0x440) "0123456789")
  (data (i32.const 0x450) "redis error")
  (data (i32.const 0x460) "default")
  (data (i32.const 0x500) "SELECT $1::text || '!' AS s, $2::int4 + 1 AS n")
  (data (i32.const 0x540) "SELECT generate_series(1, 3)")
  (data (i32.const 0x560) "SELECT CONCAT(?, '!') AS s, ? + 1 AS n")
  (data (i32.const 0x590) "SET @spin1 = ?")
  (data (i32.const 0x5a0) "CREATE TABLE IF NOT EXISTS spin1 (s TEXT)")
  (data (i32.const 0x5d0) "INSERT INTO spin1 VALUES (?)")
  (data (i32.const 0x5f0) "SELECT group_concat(s, ','), count(*) + 200 FROM spin1")
  ;; status, optional x-count header (count < 0: none), body
  (func $respond (param $status i32) (param $count i32) (param $body i32) (param $body_len i32) (result i32)
    (i32.store16 (i32.const 0x200) (local.get $status))
    (i32.store8 (i32.const 0x204) (i32.ge_s (local.get $count) (i32.const 0)))
    (i32.store (i32.const 0x208) (i32.const 0x300))
    (i32.store (i32.const 0x20c) (i32.const 1))
    (i32.store (i32.const 0x300) (i32.const 0x430)) (i32.store (i32.const 0x304) (i32.const 7))
    (i32.store (i32.const 0x308) (i32.add (i32.const 0x440) (local.get $count))) (i32.store (i32.const 0x30c) (i32.const 1))
    (i32.store8 (i32.const 0x210) (i32.const 1))
    (i32.store (i32.const 0x214) (local.get $body))
    (i32.store (i32.const 0x218) (local.get $body_len))
    (i32.const 0x200))
  ;; A failed rdbms or SQLite call: its error variant's text at $at (tag, then string at +4).
  (func $failed (param $at i32) (result i32)
    (call $respond (i32.const 500) (i32.const -1) (i32.load (i32.add (local.get $at) (i32.const 4))) (i32.load (i32.add (local.get $at) (i32.const 8)))))
  ;; The text and int parameters at 0x700 (parameter-value: 16 bytes, tag then payload at 8).
  (func $rdbms_params
    (i32.store8 (i32.const 0x700) (i32.const 11))
    (i32.store (i32.const 0x708) (i32.const 0x420)) (i32.store (i32.const 0x70c) (i32.const 10))
    (i32.store8 (i32.const 0x710) (i32.const 3))
    (i32.store (i32.const 0x718) (i32.const 200)))
  ;; Answers the first row of a row set at $at (columns, then rows): status from value 1, body value 0.
  (func $first_row (param $at i32) (param $count i32) (result i32)
    (local $values i32)
    (local.set $values (i32.load (i32.load (i32.add (local.get $at) (i32.const 8)))))
    (call $respond (i32.load (i32.add (local.get $values) (i32.const 24))) (local.get $count)
      (i32.load (i32.add (local.get $values) (i32.const 8))) (i32.load (i32.add (local.get $values) (i32.const 12)))))
  (func (export "handle-http-request") (param $method i32) (param $uri i32) (param $uri_len i32) (param $h i32) (param $hl i32) (param $p i32) (param $pl i32) (param $has_body i32) (param $b i32) (param $bl i32) (result i32)
    (local $op i32) (local $n i32) (local $conn i32)
    (if (i32.eqz (local.get $has_body)) (then (local.set $bl (i32.const 0))))
    (local.set $op (i32.load8_u (i32.add (local.get $uri) (i32.const 1))))
    ;; /redis
    (if (i32.eq (local.get $op) (i32.const 114)) (then
      (call $redis_set (local.get $b) (local.get $bl) (i32.const 0x400) (i32.const 9) (i32.const 0x420) (i32.const 10) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $respond (i32.const 500) (i32.const -1) (i32.const 0x450) (i32.const 11)))))
      (call $redis_incr (local.get $b) (local.get $bl) (i32.const 0x410) (i32.const 13) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $respond (i32.const 500) (i32.const -1) (i32.const 0x450) (i32.const 11)))))
      (local.set $n (i32.wrap_i64 (i64.load (i32.const 0x188))))
      (call $redis_get (local.get $b) (local.get $bl) (i32.const 0x400) (i32.const 9) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $respond (i32.const 500) (i32.const -1) (i32.const 0x450) (i32.const 11)))))
      (return (call $respond (i32.add (i32.const 200) (local.get $n)) (i32.const -1) (i32.load (i32.const 0x184)) (i32.load (i32.const 0x188))))))
    ;; /pg: execute answers expected<u64, pg-error> (payload at 8), query a row set (at 4)
    (if (i32.eq (local.get $op) (i32.const 112)) (then
      (call $pg_execute (local.get $b) (local.get $bl) (i32.const 0x540) (i32.const 28) (i32.const 0) (i32.const 0) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $failed (i32.const 0x188)))))
      (local.set $n (i32.wrap_i64 (i64.load (i32.const 0x188))))
      (call $rdbms_params)
      (call $pg_query (local.get $b) (local.get $bl) (i32.const 0x500) (i32.const 46) (i32.const 0x700) (i32.const 2) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $failed (i32.const 0x184)))))
      (return (call $first_row (i32.const 0x184) (local.get $n)))))
    ;; /mysql: execute answers expected<unit, mysql-error> (payload at 4)
    (if (i32.eq (local.get $op) (i32.const 109)) (then
      (call $rdbms_params)
      (call $mysql_execute (local.get $b) (local.get $bl) (i32.const 0x590) (i32.const 14) (i32.const 0x700) (i32.const 1) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $failed (i32.const 0x184)))))
      (call $mysql_query (local.get $b) (local.get $bl) (i32.const 0x560) (i32.const 38) (i32.const 0x700) (i32.const 2) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $failed (i32.const 0x184)))))
      (return (call $first_row (i32.const 0x184) (i32.const -1)))))
    ;; /sqlite: a text parameter (value: 16 bytes, tag 2 = text) at 0x780
    (if (i32.eq (local.get $op) (i32.const 115)) (then
      (call $sqlite_open (i32.const 0x460) (i32.const 7) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $respond (i32.const 500) (i32.const -1) (i32.add (i32.const 0x440) (i32.load8_u (i32.const 0x184))) (i32.const 1)))))
      (local.set $conn (i32.load (i32.const 0x184)))
      (call $sqlite_execute (local.get $conn) (i32.const 0x5a0) (i32.const 41) (i32.const 0) (i32.const 0) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $failed (i32.const 0x184)))))
      (i32.store8 (i32.const 0x780) (i32.const 2))
      (i32.store (i32.const 0x788) (local.get $b)) (i32.store (i32.const 0x78c) (local.get $bl))
      (call $sqlite_execute (local.get $conn) (i32.const 0x5d0) (i32.const 28) (i32.const 0x780) (i32.const 1) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $failed (i32.const 0x184)))))
      (call $sqlite_execute (local.get $conn) (i32.const 0x5f0) (i32.const 54) (i32.const 0) (i32.const 0) (i32.const 0x180))
      (if (i32.load8_u (i32.const 0x180)) (then (return (call $failed (i32.const 0x184)))))
      (call $sqlite_close (local.get $conn))
      (return (call $first_row (i32.const 0x184) (i32.const -1)))))
    (call $respond (i32.const 404) (i32.const -1) (i32.const 0) (i32.const 0)))
)`;

/** The Spin 1 WAT modules available from {@link spin1Module}. */
export type Spin1ModuleName = 'http' | 'redis' | 'services' | 'experimental-http' | 'experimental-wagi';

const SOURCES: Record<Spin1ModuleName, string> = { http: SPIN1_HTTP, redis: SPIN1_REDIS, services: SPIN1_SERVICES, 'experimental-http': EXPERIMENTAL_HTTP, 'experimental-wagi': EXPERIMENTAL_WAGI };

/** Path of a {@link spin1Module} written to `dir` (for apps that name their sources by file). */
export async function spin1ModuleFile(name: Spin1ModuleName, dir: string): Promise<string> {
  const path = join(dir, `spin1-${name}.wasm`);
  await writeFile(path, await spin1Module(name));
  return path;
}

/**
 * Bytes of a Spin 1-style module: `http` (paths: `/outbound` GETs the URL in the body through
 * `wasi-outbound-http` and answers its status and body, `/config` answers the variable named in
 * the body, `/kv` stores the body under "messages" and reads it back, `/redis` publishes through
 * `outbound-redis` and answers its error flag, anything else echoes the body and logs a line;
 * every answer has `x-uri` and `x-method`), `redis` (appends each message to "messages"; "fail"
 * returns an error, "trap" traps, "spin" never returns), `services` (outbound-redis, outbound-pg, outbound-mysql and
 * sqlite against the address in the body), `experimental-http` (GETs the URL in the body with
 * `wasi_experimental_http`), `experimental-wagi` (a WAGI command doing the same for its argv[1]).
 */
export function spin1Module(name: Spin1ModuleName): Promise<Uint8Array> {
  return watToWasm(SOURCES[name]);
}

/** The WAT of {@link spin1Module}, for tests that assemble variants. */
export function spin1ModuleWat(name: Spin1ModuleName): string {
  return SOURCES[name];
}
