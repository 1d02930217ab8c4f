/**
 * Benchmarks of the HTTP half of @spinel/runtime, as ratios measured in one run:
 *  1. WAGI: our in-memory preview1 (`runWagi`) against `node:wasi` per request, same module.
 *  2. Server overhead: a WAT module served through the HTTP trigger against plain
 *     node:http answering the same body (load from a second process).
 *  P1. A WAT wasi:http component through `spinel up` against plain node:http (wrk, c=10).
 *  3. The JS hello component (examples/hello) through the engine's executor against
 *     `jco serve --isolate-requests instance` (needs the engine and a built example).
 *  4. Start-up to first 200 with a warm cache: `spinel up` against `jco serve`.
 * Run with `pnpm --filter @spinel/runtime bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { parse } from '@bytecodealliance/jco';
import type { Executor, GuestRequest, GuestResponse, WagiInvocation, WagiResult } from '../src/pool/executor-types.js';
import { createHttpTrigger } from '../src/trigger/http-server.js';
import { runWagi } from '../src/guest/wagi/run-wagi.js';
import { freePort, median, ratioLine, stop, waitFor200, wrk } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const LOAD_MS = Number(process.env['BENCH_LOAD_MS'] ?? 4000);
const CONNECTIONS = 16;
/** P1 is measured as issue 11 states it: wrk, HTTP/1.1 keep-alive, 10 connections. */
const P1_CONNECTIONS = 10;
const P1_LOAD_S = Number(process.env['BENCH_P1_SECONDS'] ?? 5);
const P1_WARM_S = 3;
const BODY = 'hello from spinel\n';

const WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Content-Type: text/plain\\n\\n${BODY.replace('\n', '\\n')}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const ${26 + BODY.length}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

async function benchWagi(module: WebAssembly.Module): Promise<void> {
  const invocation: WagiInvocation = { env: [['REQUEST_METHOD', 'GET'], ['PATH_INFO', '/']], argv: ['/'], stdin: new Uint8Array(0), preopens: [] };
  const devnull = openSync('/dev/null', 'w');
  const runNode = (): void => {
    const wasi = new WASI({ version: 'preview1', args: invocation.argv, env: Object.fromEntries(invocation.env), stdout: devnull, stderr: devnull, returnOnExit: true });
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
    wasi.start(instance);
  };
  const runOurs = (): void => {
    runWagi(module, invocation);
  };
  const time = (fn: () => void, n: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      fn();
      out.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    return out;
  };
  time(runOurs, 200);
  time(runNode, 200);
  const ours = median(time(runOurs, 1500));
  const node = median(time(runNode, 1500));
  closeSync(devnull);
  ratioLine('WAGI per request: runWagi vs node:wasi (median)', `${ours.toFixed(1)} µs`, `${node.toFixed(1)} µs`, node / ours, 'higher');
}

/** Runs requests in-process with runWagi: the trigger's own cost, without workers. */
class InProcessWagi implements Executor {
  constructor(private readonly module: WebAssembly.Module) {}
  async handle(_c: string, _r: GuestRequest): Promise<GuestResponse> {
    throw new Error('not used');
  }
  async runWagi(_c: string, invocation: WagiInvocation): Promise<WagiResult> {
    return runWagi(this.module, invocation);
  }
  async close(): Promise<void> {}
}

function load(url: string): Promise<{ ok: number; failed: number; rps: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'load-client.mjs'), url, String(CONNECTIONS), String(LOAD_MS)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: here });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { ok: number; failed: number; rps: number }) : reject(new Error(`load client exited ${code}`))));
  });
}

async function benchServer(module: WebAssembly.Module): Promise<void> {
  const plain = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(BODY) });
    res.end(BODY);
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  const plainUrl = `http://127.0.0.1:${(plain.address() as { port: number }).port}/`;
  const trigger = createHttpTrigger({
    app: { triggers: [{ id: 't', trigger_type: 'http', trigger_config: { component: 'wat', route: '/...', executor: { type: 'wagi' } } }], components: [{ id: 'wat' }] },
    executor: new InProcessWagi(module),
  });
  const base = await trigger.listen({ listen: '127.0.0.1:0' });
  await load(`${base}/`);
  const ref = await load(plainUrl);
  const ours = await load(`${base}/`);
  ratioLine('HTTP: WAT (WAGI, in-process) via trigger vs plain node:http', `${ours.rps.toFixed(0)} req/s`, `${ref.rps.toFixed(0)} req/s`, ours.rps / ref.rps, 'higher');
  if (ours.failed + ref.failed > 0) console.log(`  (failed requests: spinel ${ours.failed}, node:http ${ref.failed})`);
  await trigger.close();
  plain.close();
}

/** CPU time (µs) of each thread of a process so far, by thread id (Linux /proc; empty elsewhere). */
function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  const tick = 1e6 / 100; // USER_HZ is 100 on Linux
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * tick);
    }
  } catch {
    // not Linux, or the process is gone
  }
  return out;
}

/** Loads `url` with wrk and measures the server's CPU per request: its main thread, and all its other threads. */
async function loadWithCpu(url: string, pid: number, seconds: number): Promise<{ rps: number; mainUs: number; otherUs: number; bad: string | undefined }> {
  const before = threadCpu(pid);
  const { rps, requests, bad } = await wrk(url, seconds);
  const after = threadCpu(pid);
  let main = 0;
  let other = 0;
  for (const [tid, us] of after) {
    const spent = us - (before.get(tid) ?? 0);
    if (tid === pid) main += spent;
    else other += spent;
  }
  return { rps, mainUs: main / requests, otherUs: other / requests, bad };
}

/** Starts a server process and waits for its first 200. */
async function startServer(name: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  try {
    await waitFor200(`http://127.0.0.1:${port}/`, child);
  } catch (e) {
    await stop(child);
    throw new Error(`${name} did not serve: ${(e as Error).message}\n${err.slice(0, 2000)}`);
  }
  return child;
}

/**
 * P1 (issue 11): a small WAT wasi:http component writing a 15-byte body, run as a user runs it
 * (`spinel up -f <dir>`: runApp, workers, a fresh instance per request, guest output logged),
 * against plain node:http answering the same body, each in its own process, loaded in turn by
 * wrk (HTTP/1.1 keep-alive, 10 connections). Also prints each server's CPU per request, split
 * into its main thread and its other threads (workers, V8's compiler and GC threads).
 */
async function benchP1(): Promise<void> {
  const cli = join(repo, 'apps', 'cli', 'bin', 'run.js');
  if (!existsSync(join(repo, 'apps', 'cli', 'dist', 'bundle', 'main.js'))) {
    console.log('P1: skipped (build the CLI: pnpm --filter @spinel/cli build)');
    return;
  }
  const { watComponent } = (await import('@spinel/test-utils')) as unknown as { watComponent: (name: 'hello') => Promise<string> };
  const dir = await mkdtemp(join(tmpdir(), 'spinel-bench-p1-'));
  const children: ChildProcess[] = [];
  try {
    await copyFile(await watComponent('hello'), join(dir, 'hello.wasm'));
    await writeFile(
      join(dir, 'spin.toml'),
      'spin_manifest_version = 2\n[application]\nname = "p1"\n[[trigger.http]]\nroute = "/..."\ncomponent = "hello"\n[component.hello]\nsource = "hello.wasm"\n',
    );
    const plainCode = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain', 'x-fixture': 'wat', 'content-length': 15 }); s.end('hello from wat\\n'); }).listen(Number(process.argv[1]), '127.0.0.1');`;
    const plainPort = await freePort();
    const plain = await startServer('node:http', ['-e', plainCode, String(plainPort)], plainPort);
    children.push(plain);
    const spinelPort = await freePort();
    const spinel = await startServer('spinel up', [cli, 'up', '-f', dir, '--listen', `127.0.0.1:${spinelPort}`], spinelPort);
    children.push(spinel);
    // The serveFromWorkers mode beside it: the same command with --serve-from-workers.
    const workersPort = await freePort();
    const workersChild = await startServer('spinel up --serve-from-workers', [cli, 'up', '-f', dir, '--listen', `127.0.0.1:${workersPort}`, '--serve-from-workers'], workersPort);
    children.push(workersChild);
    const plainUrl = `http://127.0.0.1:${plainPort}/`;
    const spinelUrl = `http://127.0.0.1:${spinelPort}/`;
    const workersUrl = `http://127.0.0.1:${workersPort}/`;
    // Warm each (JIT, pools), then measure each in turn.
    await wrk(plainUrl, 2);
    await wrk(spinelUrl, P1_WARM_S);
    await wrk(workersUrl, P1_WARM_S);
    const ref = await loadWithCpu(plainUrl, plain.pid ?? 0, P1_LOAD_S);
    const ours = await loadWithCpu(spinelUrl, spinel.pid ?? 0, P1_LOAD_S);
    const workers = await loadWithCpu(workersUrl, workersChild.pid ?? 0, P1_LOAD_S);
    ratioLine(`P1 (wrk -c${P1_CONNECTIONS}, ${P1_LOAD_S} s): WAT component via spinel up vs node:http`, `${ours.rps.toFixed(0)} req/s`, `${ref.rps.toFixed(0)} req/s`, ours.rps / ref.rps, 'higher');
    ratioLine(`P1, spinel up --serve-from-workers vs node:http`, `${workers.rps.toFixed(0)} req/s`, `${ref.rps.toFixed(0)} req/s`, workers.rps / ref.rps, 'higher');
    for (const [name, r] of [['spinel up', ours], ['node:http', ref], ['serveFromWorkers', workers]] as const) {
      if (r?.bad !== undefined) console.log(`  (${name}: ${r.bad})`);
    }
    if (ours.mainUs > 0) {
      console.log(`  CPU per request: spinel up main thread ${ours.mainUs.toFixed(0)} µs + other threads (workers, V8 compiler/GC) ${ours.otherUs.toFixed(0)} µs; node:http ${ref.mainUs.toFixed(0)} µs + ${ref.otherUs.toFixed(0)} µs`);
      console.log(`  CPU per request: serveFromWorkers main thread ${workers.mainUs.toFixed(0)} µs + other threads ${workers.otherUs.toFixed(0)} µs`);
    }
  } finally {
    await Promise.all(children.map(stop));
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchHello(): Promise<void> {
  const wasm = join(repo, 'examples', 'hello', 'dist', 'hello.wasm');
  const cli = join(repo, 'apps', 'cli', 'bin', 'run.js');
  // jco's own entry run by node directly, so stopping it stops the server (not a shell wrapper).
  const jco = join(here, '..', 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js');
  if (!existsSync(wasm)) {
    console.log('JS hello vs jco serve: skipped (build it: node examples/hello/build.mjs)');
    return;
  }
  if (!existsSync(join(repo, 'apps', 'cli', 'dist', 'commands.js'))) {
    console.log('JS hello vs jco serve: skipped (build the CLI: pnpm --filter @spinel/cli build)');
    return;
  }
  const startSpinel = (port: number): ChildProcess =>
    spawn(process.execPath, [cli, 'up', '-f', join(repo, 'examples', 'hello'), '--listen', `127.0.0.1:${port}`, '--state-dir', ''], { stdio: ['ignore', 'ignore', 'pipe'] });
  const startJco = (port: number): ChildProcess =>
    spawn(process.execPath, [jco, 'serve', '--port', String(port), '--host', '127.0.0.1', '--isolate-requests', 'instance', wasm], { stdio: ['ignore', 'ignore', 'pipe'] });

  // Start-up, warm: a first start fills the caches (transpiled output), the second is measured.
  const starts: Record<string, number> = {};
  for (const [name, start] of [['spinel', startSpinel], ['jco', startJco]] as const) {
    let ms = NaN;
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const child = start(port);
      let err = '';
      child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      try {
        ms = await waitFor200(`http://127.0.0.1:${port}/`, child);
      } catch (e) {
        console.log(`JS hello (${name}) did not serve: ${(e as Error).message}\n${err.slice(0, 2000)}`);
        await stop(child);
        return;
      }
      if (i === 1) {
        const result = await load(`http://127.0.0.1:${port}/`);
        starts[`${name}-rps`] = result.rps;
        if (result.failed > 0) console.log(`  (${name}: ${result.failed} failed requests)`);
      }
      await stop(child);
    }
    starts[name] = ms;
  }
  const s = starts as Record<'spinel' | 'jco' | 'spinel-rps' | 'jco-rps', number>;
  ratioLine('JS hello, fresh instance per request: spinel up vs jco serve', `${s['spinel-rps'].toFixed(1)} req/s`, `${s['jco-rps'].toFixed(1)} req/s`, s['spinel-rps'] / s['jco-rps'], 'higher');
  ratioLine('Start-up to first 200, warm cache: spinel up vs jco serve', `${s.spinel.toFixed(0)} ms`, `${s.jco.toFixed(0)} ms`, s.jco / s.spinel, 'higher');
}

const module = new WebAssembly.Module((await parse(WAT)) as Uint8Array<ArrayBuffer>);
console.log(`@spinel/runtime HTTP benchmarks (${CONNECTIONS} keep-alive connections, ${LOAD_MS} ms per load run; ratios are spinel ÷ reference for rates, reference ÷ spinel for times)`);
// BENCH_ONLY=p1 runs P1 alone (its figures are the same as in the whole run).
const only = process.env['BENCH_ONLY'];
if (only === undefined) {
  await benchWagi(module);
  await benchServer(module);
}
await benchP1();
if (only === undefined) await benchHello();
// Keep-alive sockets of the load clients must not hold the run open.
process.exit(0);
