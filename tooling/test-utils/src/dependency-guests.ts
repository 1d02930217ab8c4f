import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { componentFromWitDir, fixtureCacheDir, fixtureWitDir, httpModule } from './wasm.js';

/**
 * Components for component-dependency tests, assembled from WAT: HTTP apps that import
 * `spinel:greeting/greet@0.1.0` (and `shout`), and dependencies that export it — plainly, under
 * another name (`spinel:other/hello`), reading a Spin variable and a file, or importing the
 * handler interface the app exports (a cycle).
 */

const FORMAT = 1;

const GREETING_WIT = `package spinel:greeting@0.1.0;

interface greet {
  greet: func(name: string) -> string;
}

interface shout {
  greet: func(name: string) -> string;
}
`;

const OTHER_WIT = `package spinel:other@0.1.0;

interface hello {
  greet: func(name: string) -> string;
}
`;

const VARIABLES_WIT = `package fermyon:spin@2.0.0;

interface variables {
  get: func(name: string) -> result<string, error>;
  variant error { invalid-name(string), undefined(string), provider(string), other(string) }
}
`;

const WORLDS = `package spinel:dep-fixtures@0.1.0;

world app {
  include wasi:http/proxy@0.2.3;
  import spinel:greeting/greet@0.1.0;
}

world app-two {
  include wasi:http/proxy@0.2.3;
  import spinel:greeting/greet@0.1.0;
  import spinel:greeting/shout@0.1.0;
}

world greeter {
  export spinel:greeting/greet@0.1.0;
}

world greeter-both {
  export spinel:greeting/greet@0.1.0;
  export spinel:greeting/shout@0.1.0;
}

world renamed {
  export spinel:other/hello@0.1.0;
}

world reader {
  import fermyon:spin/variables@2.0.0;
  import wasi:filesystem/preopens@0.2.3;
  export spinel:greeting/greet@0.1.0;
}

world cyclic {
  import wasi:http/incoming-handler@0.2.3;
  export spinel:greeting/greet@0.1.0;
}
`;

/** A WIT directory with WASI 0.2.3, the greeting packages, Spin's variables and the fixture worlds. */
export async function dependencyWitDir(): Promise<string> {
  const dir = join(fixtureCacheDir(), `deps-wit-${FORMAT}`);
  if (existsSync(join(dir, 'world.wit'))) return dir;
  const tmp = await mkdtemp(join(tmpdir(), 'spinel-deps-wit-'));
  await cp(join(await fixtureWitDir('0.2.3'), 'deps'), join(tmp, 'deps'), { recursive: true });
  for (const [pkg, text] of [
    ['spinel-greeting', GREETING_WIT],
    ['spinel-other', OTHER_WIT],
    ['fermyon-spin', VARIABLES_WIT],
  ] as const) {
    await mkdir(join(tmp, 'deps', pkg), { recursive: true });
    await writeFile(join(tmp, 'deps', pkg, 'package.wit'), text);
  }
  await writeFile(join(tmp, 'world.wit'), WORLDS);
  await mkdir(dirname(dir), { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await cp(tmp, dir, { recursive: true });
  await rm(tmp, { recursive: true, force: true });
  return dir;
}

const ALLOC = `(global $heap (mut i32) (i32.const 8192))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))`;

/** A greeter: `<export>#greet(name)` answers `<prefix><name>`. */
function greeterWat(exportName: string, prefix: string, imports = ''): string {
  return `(module
  ${imports}
  (memory (export "memory") 1)
  (data (i32.const 64) "${prefix}")
  ${ALLOC}
  (func (export "${exportName}#greet") (param $p i32) (param $n i32) (result i32)
    (memory.copy (i32.const 1024) (i32.const 64) (i32.const ${prefix.length}))
    (memory.copy (i32.const ${1024 + prefix.length}) (local.get $p) (local.get $n))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.add (local.get $n) (i32.const ${prefix.length})))
    (i32.const 16)))`;
}

// greet(name) answers "<variable greeting or ->|<contents of greeting.txt in the first preopen or ->".
const READER_WAT = `(module
  (import "fermyon:spin/variables@2.0.0" "get" (func $get (param i32 i32 i32)))
  (import "wasi:filesystem/preopens@0.2.3" "get-directories" (func $dirs (param i32)))
  (import "wasi:filesystem/types@0.2.3" "[method]descriptor.open-at" (func $open (param i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.3" "[method]descriptor.read" (func $read (param i32 i64 i64 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "greeting")
  (data (i32.const 80) "greeting.txt")
  ${ALLOC}
  (func $dash (param $o i32) (result i32)
    (i32.store8 (local.get $o) (i32.const 45))
    (i32.add (local.get $o) (i32.const 1)))
  (func $copy (param $o i32) (param $p i32) (param $n i32) (result i32)
    (memory.copy (local.get $o) (local.get $p) (local.get $n))
    (i32.add (local.get $o) (local.get $n)))
  (func (export "spinel:greeting/greet@0.1.0#greet") (param $p i32) (param $n i32) (result i32)
    (local $o i32)
    (local.set $o (i32.const 2048))
    (call $get (i32.const 64) (i32.const 8) (i32.const 0x100))
    (if (i32.eqz (i32.load8_u (i32.const 0x100)))
      (then (local.set $o (call $copy (local.get $o) (i32.load (i32.const 0x104)) (i32.load (i32.const 0x108)))))
      (else (local.set $o (call $dash (local.get $o)))))
    (i32.store8 (local.get $o) (i32.const 124))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (call $dirs (i32.const 0x110))
    (block $none
      (br_if $none (i32.eqz (i32.load (i32.const 0x114))))
      (call $open (i32.load (i32.load (i32.const 0x110))) (i32.const 0) (i32.const 80) (i32.const 12) (i32.const 0) (i32.const 1) (i32.const 0x120))
      (br_if $none (i32.load8_u (i32.const 0x120)))
      (call $read (i32.load (i32.const 0x124)) (i64.const 1024) (i64.const 0) (i32.const 0x130))
      (br_if $none (i32.load8_u (i32.const 0x130)))
      (local.set $o (call $copy (local.get $o) (i32.load (i32.const 0x134)) (i32.load (i32.const 0x138))))
      (i32.store (i32.const 16) (i32.const 2048))
      (i32.store (i32.const 20) (i32.sub (local.get $o) (i32.const 2048)))
      (return (i32.const 16)))
    (local.set $o (call $dash (local.get $o)))
    (i32.store (i32.const 16) (i32.const 2048))
    (i32.store (i32.const 20) (i32.sub (local.get $o) (i32.const 2048)))
    (i32.const 16)))`;

const CALL_AND_WRITE = (fn: string): string => `(call ${fn} (i32.const 0x1c0) (i32.const 5) (i32.const 0x180))
    (call $write (local.get $s) (i32.load (i32.const 0x180)) (i32.load (i32.const 0x184)) (i32.const 0x100))`;

/** The dependency-test components. */
export type DependencyGuest =
  | 'app'
  | 'app-two'
  | 'app-inline'
  | 'greeter'
  | 'greeter-both'
  | 'renamed'
  | 'reader'
  | 'cyclic';

function guestWat(which: DependencyGuest): { wat: string; world: string } {
  const greetImport = '(import "spinel:greeting/greet@0.1.0" "greet" (func $greet (param i32 i32 i32)))';
  switch (which) {
    case 'app':
      // 200 with greet("world") as the body.
      return {
        world: 'app',
        wat: httpModule(`(local.set $s (call $start (local.get $out) (i32.const 200)))
    ${CALL_AND_WRITE('$greet')}
    (call $finish (local.get $s))`, `${greetImport} (data (i32.const 0x1c0) "world")`),
      };
    case 'app-two':
      // greet("world"), "/", shout's greet("world").
      return {
        world: 'app-two',
        wat: httpModule(`(local.set $s (call $start (local.get $out) (i32.const 200)))
    ${CALL_AND_WRITE('$greet')}
    (call $write (local.get $s) (i32.const 0x1c8) (i32.const 1) (i32.const 0x100))
    ${CALL_AND_WRITE('$shout')}
    (call $finish (local.get $s))`, `${greetImport} (import "spinel:greeting/shout@0.1.0" "greet" (func $shout (param i32 i32 i32))) (data (i32.const 0x1c0) "world") (data (i32.const 0x1c8) "/")`),
      };
    case 'app-inline':
      // The same answer as 'app' with 'greeter', computed in one component.
      return {
        world: 'http-handler',
        wat: httpModule(`(memory.copy (i32.const 0x2000) (i32.const 0x1d0) (i32.const 7))
    (memory.copy (i32.const 0x2007) (i32.const 0x1c0) (i32.const 5))
    (local.set $s (call $start (local.get $out) (i32.const 200)))
    (call $write (local.get $s) (i32.const 0x2000) (i32.const 12) (i32.const 0x100))
    (call $finish (local.get $s))`, '(data (i32.const 0x1c0) "world") (data (i32.const 0x1d0) "hello, ")'),
      };
    case 'greeter':
      return { world: 'greeter', wat: greeterWat('spinel:greeting/greet@0.1.0', 'hello, ') };
    case 'greeter-both':
      return {
        world: 'greeter-both',
        wat: greeterWat('spinel:greeting/greet@0.1.0', 'hello, ').replace(
          '(func (export "spinel:greeting/greet@0.1.0#greet")',
          `(data (i32.const 96) "HEY ")
  (func (export "spinel:greeting/shout@0.1.0#greet") (param $p i32) (param $n i32) (result i32)
    (memory.copy (i32.const 1024) (i32.const 96) (i32.const 4))
    (memory.copy (i32.const 1028) (local.get $p) (local.get $n))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.add (local.get $n) (i32.const 4)))
    (i32.const 16))
  (func (export "spinel:greeting/greet@0.1.0#greet")`,
        ),
      };
    case 'renamed':
      return { world: 'renamed', wat: greeterWat('spinel:other/hello@0.1.0', 'hi, ') };
    case 'reader':
      return { world: 'reader', wat: READER_WAT };
    case 'cyclic':
      return { world: 'cyclic', wat: greeterWat('spinel:greeting/greet@0.1.0', 'loop, ', '(import "wasi:http/incoming-handler@0.2.3" "handle" (func $handle (param i32 i32)))') };
  }
}

/** Bytes of one dependency-test component (assembled each call; fast). */
export async function dependencyGuest(which: DependencyGuest): Promise<Uint8Array> {
  const { wat, world } = guestWat(which);
  if (which === 'app-inline') {
    return componentFromWitDir(wat, await fixtureWitDir('0.2.3'), world);
  }
  return componentFromWitDir(wat, await dependencyWitDir(), world);
}

/** Writes one dependency-test component to `dir/<which>.wasm` and returns the path. */
export async function writeDependencyGuest(which: DependencyGuest, dir: string): Promise<string> {
  const path = join(dir, `${which}.wasm`);
  await writeFile(path, await dependencyGuest(which));
  return path;
}
