import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { beforeAll, describe, expect, it } from 'vitest';
import { runWagi } from './run-wagi.js';
import { PREVIEW1_IMPORTS as IMPORTS, reader, str } from '../../../test/test-wagi-wat.js';

const HEADER = 'Content-Type: text/plain\n\n';

const WATS = {
  hello: `(module ${IMPORTS}
    (data (i32.const 1024) "${str(`${HEADER}hello`)}")
    (func (export "_start") (call $write (i32.const 1) (i32.const 1024) (i32.const ${HEADER.length + 5}))
      (call $write (i32.const 2) (i32.const 1024) (i32.const 12))))`,
  // Copies stdin to stdout, 7 bytes at a time, after a header.
  echo: `(module ${IMPORTS}
    (data (i32.const 1024) "${str(HEADER)}")
    (func (export "_start") (local $n i32)
      (call $write (i32.const 1) (i32.const 1024) (i32.const ${HEADER.length}))
      (block $done (loop $more
        (i32.store (i32.const 32) (i32.const 4096)) (i32.store (i32.const 36) (i32.const 7))
        (drop (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40)))
        (local.set $n (i32.load (i32.const 40)))
        (br_if $done (i32.eqz (local.get $n)))
        (call $write (i32.const 1) (i32.const 4096) (local.get $n))
        (br $more)))))`,
  // Writes the raw environ block (NUL-separated) after a header.
  env: `(module ${IMPORTS}
    (data (i32.const 1024) "${str(HEADER)}")
    (func (export "_start")
      (drop (call $environ_sizes_get (i32.const 32) (i32.const 36)))
      (drop (call $environ_get (i32.const 8192) (i32.const 16384)))
      (call $write (i32.const 1) (i32.const 1024) (i32.const ${HEADER.length}))
      (call $write (i32.const 1) (i32.const 16384) (i32.load (i32.const 36)))))`,
  args: `(module ${IMPORTS}
    (data (i32.const 1024) "${str(HEADER)}")
    (func (export "_start")
      (drop (call $args_sizes_get (i32.const 32) (i32.const 36)))
      (drop (call $args_get (i32.const 8192) (i32.const 16384)))
      (call $write (i32.const 1) (i32.const 1024) (i32.const ${HEADER.length}))
      (call $write (i32.const 1) (i32.const 16384) (i32.load (i32.const 36)))))`,
  exit3: `(module ${IMPORTS}
    (func (export "_start") (call $proc_exit (i32.const 3)) unreachable))`,
  trap: `(module ${IMPORTS} (func (export "_start") unreachable))`,
  // Writes the preopen name of fd 3, then the readdir buffer of fd 3.
  listing: `(module ${IMPORTS}
    (func (export "_start")
      (call $write_errno (call $fd_prestat_get (i32.const 3) (i32.const 32)))
      (drop (call $fd_prestat_dir_name (i32.const 3) (i32.const 2048) (i32.load (i32.const 36))))
      (call $write (i32.const 1) (i32.const 2048) (i32.load (i32.const 36)))
      (drop (call $fd_readdir (i32.const 3) (i32.const 8192) (i32.const 4096) (i64.const 0) (i32.const 40)))
      (call $write (i32.const 1) (i32.const 8192) (i32.load (i32.const 40)))))`,
  random: `(module ${IMPORTS}
    (func (export "_start")
      (call $write_errno (call $random_get (i32.const 4096) (i32.const 32)))
      (call $write_errno (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 64)))
      (call $write (i32.const 1) (i32.const 4096) (i32.const 32))))`,
  foreign: `(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))`,
  noStart: `(module (memory (export "memory") 1))`,
};

async function compile(wat: string): Promise<WebAssembly.Module> {
  return new WebAssembly.Module((await parse(wat)) as Uint8Array<ArrayBuffer>);
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const base = { env: [] as Array<[string, string]>, argv: ['/x'], stdin: new Uint8Array(0), preopens: [] as Array<[string, string]> };

describe('runWagi', () => {
  const mods = {} as Record<keyof typeof WATS, WebAssembly.Module>;
  let root: string;
  let outside: string;
  beforeAll(async () => {
    for (const [k, w] of Object.entries(WATS)) mods[k as keyof typeof WATS] = await compile(w);
    const dir = mkdtempSync(join(tmpdir(), 'spinel-wagi-'));
    root = join(dir, 'assets');
    outside = join(dir, 'secret.txt');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'hello.txt'), 'hi there');
    writeFileSync(join(root, 'sub', 'deep.txt'), 'deep');
    writeFileSync(outside, 'top secret');
    symlinkSync(outside, join(root, 'escape'));
    symlinkSync(join(root, 'hello.txt'), join(root, 'inside-link'));
  });

  it('collects stdout and stderr', () => {
    const r = runWagi(mods.hello, base);
    expect(text(r.stdout)).toBe(`${HEADER}hello`);
    expect(text(r.stderr)).toBe('Content-Type');
    expect(r.exitCode).toBe(0);
  });

  it('feeds stdin from the buffer in pieces', () => {
    const body = 'a body longer than seven bytes, read in several calls';
    const r = runWagi(mods.echo, { ...base, stdin: new TextEncoder().encode(body) });
    expect(text(r.stdout)).toBe(HEADER + body);
  });

  it('passes exactly the given environment and argv', () => {
    const r = runWagi(mods.env, { ...base, env: [['A', '1'], ['PATH_INFO', '/x y']] });
    expect(text(r.stdout).slice(HEADER.length).split('\0')).toEqual(['A=1', 'PATH_INFO=/x y', '']);
    const a = runWagi(mods.args, { ...base, argv: ['/script', 'k', 'v'] });
    expect(text(a.stdout).slice(HEADER.length).split('\0')).toEqual(['/script', 'k', 'v', '']);
  });

  it('reports proc_exit codes and lets traps through', () => {
    expect(runWagi(mods.exit3, base).exitCode).toBe(3);
    expect(() => runWagi(mods.trap, base)).toThrow(WebAssembly.RuntimeError);
  });

  it('refuses modules that are not preview1 commands', () => {
    expect(() => runWagi(mods.foreign, base)).toThrow(expect.objectContaining({ code: 'RUNTIME_WAGI_INVALID_MODULE', message: expect.stringContaining('env.f') }));
    expect(() => runWagi(mods.noStart, base)).toThrow(expect.objectContaining({ code: 'RUNTIME_WAGI_INVALID_MODULE' }));
  });

  it('gives random bytes and a clock', () => {
    const r = runWagi(mods.random, base);
    expect(text(r.stdout.subarray(0, 4))).toBe('0000');
    expect(r.stdout.subarray(4).some((b) => b !== 0)).toBe(true);
  });

  it('reads files of a preopened directory', async () => {
    const r = runWagi(await compile(reader('hello.txt')), { ...base, preopens: [['/', root]] });
    expect(text(r.stdout)).toBe('00hi there');
    const d = runWagi(await compile(reader('sub/../sub/./deep.txt')), { ...base, preopens: [['/', root]] });
    expect(text(d.stdout)).toBe('00deep');
    const l = runWagi(await compile(reader('inside-link')), { ...base, preopens: [['/', root]] });
    expect(text(l.stdout)).toBe('00hi there');
  });

  it('confines paths to the mount', async () => {
    const run = async (path: string, opts?: Parameters<typeof reader>[1]) =>
      text(runWagi(await compile(reader(path, opts)), { ...base, preopens: [['/', root]] }).stdout);
    expect(await run('../secret.txt')).toBe('76'); // ENOTCAPABLE
    expect(await run('sub/../../secret.txt')).toBe('76');
    expect(await run('/etc/passwd')).toBe('76');
    expect(await run('escape')).toBe('76'); // a symlink pointing outside
    expect(await run('missing.txt')).toBe('44'); // ENOENT
    expect(await run('new.txt', { oflags: 1 })).toBe('69'); // O_CREAT: read-only
    expect(await run('hello.txt', { rights: 1n << 6n })).toBe('69'); // write rights: read-only
    // Without preopens there is no fd 3.
    expect(text(runWagi(await compile(reader('hello.txt')), base).stdout)).toBe('08');
  });

  it('names the preopen and lists its directory', () => {
    const r = runWagi(mods.listing, { ...base, preopens: [['/assets', root]] });
    expect(text(r.stdout.subarray(0, 2))).toBe('00');
    expect(text(r.stdout.subarray(2, 9))).toBe('/assets');
    const buf = r.stdout.subarray(9);
    const names: string[] = [];
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let at = 0; at + 24 <= buf.length; ) {
      const len = view.getUint32(at + 16, true);
      names.push(text(buf.subarray(at + 24, at + 24 + len)));
      at += 24 + len;
    }
    expect(names).toEqual(['.', '..', 'escape', 'hello.txt', 'inside-link', 'sub']);
  });

  it('keeps no state between runs', () => {
    const a = runWagi(mods.env, { ...base, env: [['ONE', '1']] });
    const b = runWagi(mods.env, { ...base, env: [['TWO', '2']] });
    expect(text(a.stdout)).toContain('ONE=1');
    expect(text(b.stdout)).not.toContain('ONE');
  });
});
