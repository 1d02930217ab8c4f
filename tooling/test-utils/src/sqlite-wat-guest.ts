// A small component written in WAT that calls the three SQLite interfaces through the canonical
// ABI, transpiled by jco (instantiation `sync`) into a directory (glue as guest.mjs), so a test or
// a benchmark worker can instantiate it with the host's import objects and call its exports.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nestedSqlitePackages } from './sqlite-wit.js';

/** The guest's exports (see the WAT below for what each returns). */
export interface SqliteWatGuest {
  openDenied(): number;
  roundtrip(): bigint;
  badSql(): number;
  v2Count(): bigint;
  legacyCount(): bigint;
  bench(n: number): bigint;
  benchScan(n: number): bigint;
}

/** A transpiled guest in `dir`: import `guest.mjs` there and call `instantiate`. */
export interface BuiltWatGuest {
  dir: string;
  /** Core module bytes by the names jco's `getCoreModule` asks for. */
  files: Record<string, Uint8Array>;
}

function wat(): string {
  const data: string[] = [];
  let next = 16;
  const str = (s: string): [number, number] => {
    const bytes = Buffer.from(s, 'utf8');
    const at = next;
    data.push(`(data (i32.const ${at}) "${[...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('')}")`);
    next += bytes.length + (8 - (bytes.length % 8));
    return [at, bytes.length];
  };
  const def = str('default');
  const forbidden = str('forbidden');
  const create = str('CREATE TABLE IF NOT EXISTS t (i INTEGER, s TEXT)');
  const insert = str('INSERT INTO t VALUES (?, ?)');
  const hi = str('hi');
  const select = str('SELECT i + 1 FROM t WHERE rowid = ?');
  const bad = str('SELEC 1');
  const count = str('SELECT count(*) FROM t');
  const benchSql = str('SELECT v FROM bench WHERE id = ?');
  const scanSql = str('SELECT sum(v) FROM bench WHERE id <= ?');
  if (next > 1024) throw new Error('guest strings overflow their area');
  // Scratch areas: 1024 params (16-byte values), 1100 return areas, 4096 bump heap.
  return `(module
  (import "spin:sqlite/sqlite@3.0.0" "[static]connection.open" (func $open3 (param i32 i32 i32)))
  (import "spin:sqlite/sqlite@3.0.0" "[method]connection.execute" (func $exec3 (param i32 i32 i32 i32 i32 i32)))
  (import "spin:sqlite/sqlite@3.0.0" "[method]connection.last-insert-rowid" (func $rowid3 (param i32) (result i64)))
  (import "spin:sqlite/sqlite@3.0.0" "[method]connection.changes" (func $changes3 (param i32) (result i64)))
  (import "spin:sqlite/sqlite@3.0.0" "[resource-drop]connection" (func $drop3 (param i32)))
  (import "fermyon:spin/sqlite@2.0.0" "[static]connection.open" (func $open2 (param i32 i32 i32)))
  (import "fermyon:spin/sqlite@2.0.0" "[method]connection.execute" (func $exec2 (param i32 i32 i32 i32 i32 i32)))
  (import "fermyon:spin/sqlite@2.0.0" "[resource-drop]connection" (func $drop2 (param i32)))
  (import "fermyon:spin/sqlite" "open" (func $open1 (param i32 i32 i32)))
  (import "fermyon:spin/sqlite" "execute" (func $exec1 (param i32 i32 i32 i32 i32 i32)))
  (import "fermyon:spin/sqlite" "close" (func $close1 (param i32)))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  ${data.join('\n  ')}
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $r i32)
    (local.set $r (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
    (global.set $bump (i32.add (local.get $r) (local.get 3)))
    (if (i32.gt_u (global.get $bump) (i32.const 131072)) (then unreachable))
    (local.get $r))
  ;; The first value of the first row of a successful result at 1100, as i64 (-100 - tag when not an integer).
  (func $first-int (result i64)
    (local $row i32)
    (local $val i32)
    (if (i32.eqz (i32.load (i32.const 1116))) (then (return (i64.const -99))))
    (local.set $row (i32.load (i32.const 1112)))
    (local.set $val (i32.load (local.get $row)))
    (if (i32.load8_u (local.get $val)) (then (return (i64.sub (i64.const -100) (i64.extend_i32_u (i32.load8_u (local.get $val)))))))
    (i64.load (i32.add (local.get $val) (i32.const 8))))
  ;; open("forbidden"): result tag * 256 + error tag
  (func (export "open-denied") (result i32)
    (call $open3 (i32.const ${forbidden[0]}) (i32.const ${forbidden[1]}) (i32.const 1100))
    (i32.add (i32.mul (i32.load8_u (i32.const 1100)) (i32.const 256)) (i32.load8_u (i32.const 1104))))
  ;; create, insert (41, "hi"), then select i + 1 by last-insert-rowid: (i + 1) * 1000 + rowid; negative on failure
  (func (export "roundtrip") (result i64)
    (local $c i32)
    (local $rowid i64)
    (call $open3 (i32.const ${def[0]}) (i32.const ${def[1]}) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -1))))
    (local.set $c (i32.load (i32.const 1104)))
    (call $exec3 (local.get $c) (i32.const ${create[0]}) (i32.const ${create[1]}) (i32.const 0) (i32.const 0) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -2))))
    ;; params at 1024: integer(41), text("hi")
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i64.store (i32.const 1032) (i64.const 41))
    (i32.store8 (i32.const 1040) (i32.const 2))
    (i32.store (i32.const 1048) (i32.const ${hi[0]}))
    (i32.store (i32.const 1052) (i32.const ${hi[1]}))
    (call $exec3 (local.get $c) (i32.const ${insert[0]}) (i32.const ${insert[1]}) (i32.const 1024) (i32.const 2) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -3))))
    (if (i64.ne (call $changes3 (local.get $c)) (i64.const 1)) (then (return (i64.const -4))))
    (local.set $rowid (call $rowid3 (local.get $c)))
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i64.store (i32.const 1032) (local.get $rowid))
    (call $exec3 (local.get $c) (i32.const ${select[0]}) (i32.const ${select[1]}) (i32.const 1024) (i32.const 1) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -5))))
    (call $drop3 (local.get $c))
    (i64.add (i64.mul (call $first-int) (i64.const 1000)) (local.get $rowid)))
  ;; execute("SELEC 1"): result tag * 256 + error tag, + 65536 when the io message is not empty
  (func (export "bad-sql") (result i32)
    (local $c i32)
    (call $open3 (i32.const ${def[0]}) (i32.const ${def[1]}) (i32.const 1100))
    (local.set $c (i32.load (i32.const 1104)))
    (call $exec3 (local.get $c) (i32.const ${bad[0]}) (i32.const ${bad[1]}) (i32.const 0) (i32.const 0) (i32.const 1100))
    (i32.add
      (i32.add (i32.mul (i32.load8_u (i32.const 1100)) (i32.const 256)) (i32.load8_u (i32.const 1104)))
      (select (i32.const 65536) (i32.const 0) (i32.load (i32.const 1112)))))
  ;; fermyon:spin/sqlite@2.0.0: count(*) of t
  (func (export "v2-count") (result i64)
    (local $c i32)
    (call $open2 (i32.const ${def[0]}) (i32.const ${def[1]}) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -1))))
    (local.set $c (i32.load (i32.const 1104)))
    (call $exec2 (local.get $c) (i32.const ${count[0]}) (i32.const ${count[1]}) (i32.const 0) (i32.const 0) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -2))))
    (call $drop2 (local.get $c))
    (call $first-int))
  ;; Spin 1's unversioned sqlite: count(*) of t, then close
  (func (export "legacy-count") (result i64)
    (local $c i32)
    (local $n i64)
    (call $open1 (i32.const ${def[0]}) (i32.const ${def[1]}) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -1))))
    (local.set $c (i32.load (i32.const 1104)))
    (call $exec1 (local.get $c) (i32.const ${count[0]}) (i32.const ${count[1]}) (i32.const 0) (i32.const 0) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -2))))
    (local.set $n (call $first-int))
    (call $close1 (local.get $c))
    (local.get $n))
  ;; n queries "SELECT v FROM bench WHERE id = ?" over ids 1..1000 on one connection: the sum of v
  (func (export "bench") (param $n i32) (result i64)
    (local $c i32)
    (local $i i32)
    (local $sum i64)
    (call $open3 (i32.const ${def[0]}) (i32.const ${def[1]}) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -1))))
    (local.set $c (i32.load (i32.const 1104)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (global.set $bump (i32.const 4096))
        (i32.store8 (i32.const 1024) (i32.const 0))
        (i64.store (i32.const 1032) (i64.extend_i32_u (i32.add (i32.rem_u (local.get $i) (i32.const 1000)) (i32.const 1))))
        (call $exec3 (local.get $c) (i32.const ${benchSql[0]}) (i32.const ${benchSql[1]}) (i32.const 1024) (i32.const 1) (i32.const 1100))
        (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -2))))
        (local.set $sum (i64.add (local.get $sum) (call $first-int)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $drop3 (local.get $c))
    (local.get $sum))
  ;; n queries "SELECT sum(v) FROM bench WHERE id <= 1000" on one connection: the sum of the sums
  (func (export "bench-scan") (param $n i32) (result i64)
    (local $c i32)
    (local $i i32)
    (local $sum i64)
    (call $open3 (i32.const ${def[0]}) (i32.const ${def[1]}) (i32.const 1100))
    (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -1))))
    (local.set $c (i32.load (i32.const 1104)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (global.set $bump (i32.const 4096))
        (i32.store8 (i32.const 1024) (i32.const 0))
        (i64.store (i32.const 1032) (i64.const 1000))
        (call $exec3 (local.get $c) (i32.const ${scanSql[0]}) (i32.const ${scanSql[1]}) (i32.const 1024) (i32.const 1) (i32.const 1100))
        (if (i32.load8_u (i32.const 1100)) (then (return (i64.const -2))))
        (local.set $sum (i64.add (local.get $sum) (call $first-int)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $drop3 (local.get $c))
    (local.get $sum))
)`;
}

/** Builds (embeds the WIT, makes the component, transpiles) the WAT guest into a new temporary directory. */
export async function buildSqliteWatGuest(): Promise<BuiltWatGuest> {
  // jco's wasm-tools read nothing from disk here: the WIT is passed as text.
  const { componentEmbed, componentNew, parse, transpile } = await import('@bytecodealliance/jco');
  const witSource = `package test:sqlite-guest;
world guest {
  import fermyon:spin/sqlite@2.0.0;
  import fermyon:spin/sqlite;
  import spin:sqlite/sqlite@3.0.0;
  export open-denied: func() -> u32;
  export roundtrip: func() -> s64;
  export bad-sql: func() -> u32;
  export v2-count: func() -> s64;
  export legacy-count: func() -> s64;
  export bench: func(n: u32) -> s64;
  export bench-scan: func(n: u32) -> s64;
}
${nestedSqlitePackages()}`;
  const core = await parse(wat());
  const embedded = await componentEmbed({ binary: core, witSource, world: 'guest' });
  const component = await componentNew(embedded, []);
  const out = await transpile(component, { name: 'guest', instantiation: 'sync', noTypescript: true });
  const dir = await mkdtemp(join(tmpdir(), 'spinel-sqlite-wat-'));
  const files = out.files as Record<string, Uint8Array>;
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name === 'guest.js' ? 'guest.mjs' : name.replace(/\//g, '_')), bytes);
  return { dir, files };
}
