// Test helper: WAT building blocks for WASI preview1 (WAGI) test modules.

/** Preview1 imports, one exported memory, and `$write(fd, ptr, len)` / `$write_errno(e)` helpers. */
export const PREVIEW1_IMPORTS = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 2)
  ;; write(fd, ptr, len): one iovec at 0
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; writes an errno as two digits
  (func $write_errno (param $e i32)
    (i32.store8 (i32.const 16) (i32.add (i32.const 48) (i32.div_u (local.get $e) (i32.const 10))))
    (i32.store8 (i32.const 17) (i32.add (i32.const 48) (i32.rem_u (local.get $e) (i32.const 10))))
    (call $write (i32.const 1) (i32.const 16) (i32.const 2)))
`;

/** `s` as a WAT data string of escaped bytes. */
export function str(s: string): string {
  return [...new TextEncoder().encode(s)].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

/** A module that opens `path` under fd 3 (rights as given) and writes `errno` then the content. */
export function reader(path: string, opts: { oflags?: number; rights?: bigint; follow?: boolean } = {}): string {
  const p = new TextEncoder().encode(path);
  return `(module ${PREVIEW1_IMPORTS}
    (data (i32.const 1024) "${str(path)}")
    (func (export "_start") (local $e i32)
      (local.set $e (call $path_open (i32.const 3) (i32.const ${opts.follow === false ? 0 : 1}) (i32.const 1024) (i32.const ${p.length})
        (i32.const ${opts.oflags ?? 0}) (i64.const ${opts.rights ?? 2n}) (i64.const 0) (i32.const 0) (i32.const 48)))
      (call $write_errno (local.get $e))
      (if (i32.eqz (local.get $e)) (then
        (i32.store (i32.const 32) (i32.const 4096)) (i32.store (i32.const 36) (i32.const 4096))
        (drop (call $fd_read (i32.load (i32.const 48)) (i32.const 32) (i32.const 1) (i32.const 40)))
        (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 40)))))))`;
}

