// Where one request's time goes, under load: `spinel up` is started with V8's CPU profiler on
// its main thread and on every worker (`node --cpu-prof`), loaded by wrk (HTTP/1.1 keep-alive,
// 10 connections), and each profile sample taken while wrk ran is put in a stage of the request
// path by the innermost function on its stack that names one (the rules below). Printed: µs of
// each stage per request, per thread kind (the main thread's stages run once per request; the
// workers' are summed over all workers, so they too are per request).
//
// The profiler samples wall time: on a machine busier than its cores, a thread descheduled in a
// system call (writev to the socket, postMessage waking a worker) has that wait counted to the
// call. Per-thread CPU time (bench/http.ts, P1) is the measure that does not; this one says where.
//
// Usage: tsx bench/request-path.ts [wat|js]… (default both). Needs the CLI built, and for `js`
// the example (node examples/hello/build.mjs).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor200, wrk } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const cli = join(repo, 'apps', 'cli', 'bin', 'run.js');
const LOAD_S = Number(process.env['BENCH_LOAD_S'] ?? 5);
const WARM_S = 3;

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

type Rule = [stage: string, match: RegExp];

// Matched against "functionName url" of each frame, innermost first; the first rule matching the
// innermost frame that any rule matches names the stage. Order matters within one frame only.
const MAIN_RULES: Rule[] = [
  ['write the response to the socket', /^(writeGuestResponse|writeHead|end|write_|_send|writev|writevGeneric|_writeGeneric|_writev) .*(http-server|_http_outgoing|_http_server|stream_base_commons|node:net|^writev)/],
  ['write the response to the socket', /^writev $/],
  ['response back: the worker\'s message received, job finished', /^(onMessage|finish) .*worker-pool|per_context\/messageport|node:internal\/worker:2/],
  ['dispatch: queue, post the job to a worker', /^(postMessage) |^(handle|enqueue|dispatch|run|grow|activeOf|take) .*(worker-pool|fair-queue)/],
  ['route, spin-* headers, abort signal, body wrapper', /^(handle|onRequest|guestHeaders|spinHeaders|route|hostFields|hasBody|pullBody) .*(http-server|request-metadata|router|request-body)|abort_controller|event_target/],
  ['accept and parse (node:http)', /_http_common|_http_server|_http_incoming|node:net|connectionListener/],
  ['garbage collection', /^\(garbage collector\)/],
];
const WORKER_RULES: Rule[] = [
  ['response back: post to the main thread', /^(send|end|flush|takeHeld) .*(worker-entry|response-writer)/],
  ['instance: reset or new core instances (idle time)', /^(renew|reset|restore|refresh|restoreContainer|build|nextHandler) .*(component-instances|glue-template|instance-snapshot)/],
  ['capabilities: request scopes begin/end', /^(beginRequest|endRequest) .*host-registry/],
  ['guest: wasm, jco glue and the WASI host', /^(forward) .*glue-template|^wasm-function|^js-to-wasm|GenericJSToWasmWrapper|^_trampoline|^_lowerImport|^_withGlobal|guest\/wasi\//],
  ['job received: message, request set-up', /per_context\/messageport|^(runHttp|IncomingRequest) .*(worker-entry|wasi\/http)/],
  ['garbage collection', /^\(garbage collector\)/],
];

function classify(profile: CpuProfile, rules: Rule[], from: number, to: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const stage = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    let found = 'other (event loop, timers, program)';
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (frame === undefined) break;
      if (frame.functionName === '(idle)') {
        found = 'idle';
        break;
      }
      const text = `${frame.functionName} ${frame.url}`;
      const rule = rules.find(([, re]) => re.test(text));
      if (rule !== undefined) {
        found = rule[0];
        break;
      }
    }
    stageOf.set(id, found);
    return found;
  };
  const out = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const next = t + (profile.timeDeltas[i + 1] ?? 0);
    if (t < from || t > to) continue;
    const s = stage(profile.samples[i] as number);
    out.set(s, (out.get(s) ?? 0) + (next - t));
  }
  return out;
}

/** µs on V8's clock (CLOCK_MONOTONIC, as process.hrtime). */
function now(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function measure(name: string, appDir: string): Promise<void> {
  const profDir = await mkdtemp(join(tmpdir(), 'spinel-bench-prof-'));
  try {
    const port = await freePort();
    const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, cli, 'up', '-f', appDir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const url = `http://127.0.0.1:${port}/`;
    let from = 0;
    let to = 0;
    let result = { rps: 0, requests: 0 };
    try {
      await waitFor200(url, child);
      await wrk(url, WARM_S);
      from = now();
      result = await wrk(url, LOAD_S);
      to = now();
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (result.requests === 0) throw new Error(`${name}: no requests\n${err.slice(0, 2000)}`);
    const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
    const totals = { main: new Map<string, number>(), workers: new Map<string, number>() };
    let workers = 0;
    for (const file of files) {
      const threadId = Number(file.split('.')[4]);
      const profile = JSON.parse(await readFile(join(profDir, file), 'utf8')) as CpuProfile;
      if (profile.endTime < from) continue; // a worker that ended before the load
      const into = threadId === 0 ? totals.main : totals.workers;
      if (threadId !== 0) workers++;
      for (const [stage, us] of classify(profile, threadId === 0 ? MAIN_RULES : WORKER_RULES, from, to)) into.set(stage, (into.get(stage) ?? 0) + us);
    }
    console.log(`${name}: ${result.rps.toFixed(0)} req/s (wrk -c10, ${LOAD_S} s, profiled), ${workers} workers, load average ${(loadavg()[0] ?? 0).toFixed(1)}`);
    for (const [thread, map] of [['main thread', totals.main], ['workers', totals.workers]] as const) {
      let busy = 0;
      for (const [stage, us] of [...map].sort((a, b) => b[1] - a[1])) {
        if (stage !== 'idle') busy += us;
        console.log(`  ${thread.padEnd(12)} ${stage.padEnd(58)} ${(us / result.requests).toFixed(1).padStart(8)} µs/request`);
      }
      console.log(`  ${thread.padEnd(12)} ${'busy (all but idle)'.padEnd(58)} ${(busy / result.requests).toFixed(1).padStart(8)} µs/request`);
    }
  } finally {
    if (process.env['BENCH_KEEP_PROFILES'] === undefined) await rm(profDir, { recursive: true, force: true });
    else console.log(`  profiles kept in ${profDir}`);
  }
}

if (!existsSync(join(repo, 'apps', 'cli', 'dist', 'bundle', 'main.js'))) {
  console.log('request path: skipped (build the CLI: pnpm --filter @spinel/cli build)');
  process.exit(0);
}
const kinds = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['wat', 'js'];
for (const kind of kinds) {
  if (kind === 'js') {
    if (!existsSync(join(repo, 'examples', 'hello', 'dist', 'hello.wasm'))) {
      console.log('request path (js): skipped (build the example: node examples/hello/build.mjs)');
      continue;
    }
    await measure('JS example (examples/hello)', join(repo, 'examples', 'hello'));
    continue;
  }
  const { watComponent } = (await import('@spinel/test-utils')) as unknown as { watComponent: (name: 'hello') => Promise<string> };
  const dir = await mkdtemp(join(tmpdir(), 'spinel-bench-path-'));
  try {
    await copyFile(await watComponent('hello'), join(dir, 'hello.wasm'));
    await writeFile(join(dir, 'spin.toml'), 'spin_manifest_version = 2\n[application]\nname = "p1"\n[[trigger.http]]\nroute = "/..."\ncomponent = "hello"\n[component.hello]\nsource = "hello.wasm"\n');
    await measure('WAT component (15-byte body)', dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
process.exit(0);
