// Where `spinel up -f examples/hello` spends its start, to the first 200 (the table in the CLI
// README comes from this). Runs it a few times under --cpu-prof (the main thread and every worker
// write a profile; their clocks are the same monotonic clock as this process's hrtime), and reads
// from the samples when each phase's code first and last ran, in ms since spawn. Sampling shows
// only time spent running JavaScript or compiling, so a phase's end is the last sample inside it;
// awaiting I/O between phases shows as gaps. The profiler itself slows everything somewhat: read
// the columns as proportions, and bench/start.mjs for the ratios. `--runs N` (default 5), medians.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = join(here, '..', 'bin', 'run.js');
const example = join(here, '..', '..', '..', 'examples', 'hello');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const scratch = mkdtempSync(join(tmpdir(), 'spinel-bench-phases-'));
const env = { ...process.env, SPINEL_CACHE_DIR: join(scratch, 'cache'), SPINEL_DATA_DIR: join(scratch, 'data') };

/**
 * Milestones: [label, thread ('main' | 'worker'), which samples mark it, 'first' or 'last' sample].
 * The time between two milestones is the phase the first one begins.
 */
const MILESTONES = [
  ['the CLI bundle runs (node has started)', 'main', (f) => f.url.endsWith('/dist/bundle/main.js'), 'first'],
  ['`up` runs (oclif has its config, command, flags)', 'main', (f) => f.fn === 'run' && f.url.includes('/chunks/up-'), 'first'],
  ['@spinel/runtime is imported (app locked)', 'main', (f) => f.url.includes('/runtime/dist/'), 'first'],
  ['capabilities are set up', 'main', (f) => f.fn === 'createAppCapabilities', 'first'],
  ['components are prepared (read, verified, compiled)', 'main', (f) => f.fn === 'prepareComponent', 'first'],
  ['worker threads are started', 'main', (f) => (f.fn === 'EarlyWorkers' || f.fn === 'startWorker') && f.url.includes('/runtime/dist/'), 'first'],
  ['a worker thread runs JavaScript', 'worker', () => true, 'first'],
  ['the worker gets its components (init)', 'worker', (f) => f.fn === 'init' && f.url.includes('worker-entry'), 'first'],
  ['the worker is ready', 'worker', (f) => f.fn === 'init' && f.url.includes('worker-entry'), 'last'],
  ['the first instance is made (glue run, core instances)', 'worker', (f) => f.fn === 'GlueTemplate', 'first'],
  ['the first request runs in the worker', 'worker', (f) => f.fn === 'runHttp', 'first'],
  ['the guest has answered', 'worker', (f) => f.fn === 'runHttp', 'last'],
];

/** Each milestone's time (ms since spawn) in one thread's profile, up to `until`. */
function milestones(profile, t0, thread, until) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const out = new Map();
  let t = profile.startTime;
  for (let s = 0; s < profile.samples.length; s++) {
    t += profile.timeDeltas[s];
    const ms = (t - t0) / 1000;
    if (ms > until) break;
    for (let id = profile.samples[s]; id !== undefined; id = parent.get(id)) {
      const { functionName: fn, url } = byId.get(id).callFrame;
      if (fn === '(root)' || fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') continue;
      for (const [label, where, match, which] of MILESTONES) {
        if (where !== thread || !match({ fn, url })) continue;
        if (which === 'last' || !out.has(label)) out.set(label, ms);
      }
    }
  }
  return out;
}

/** Whether a worker's profile ran the first request. */
function profileAnswered(profile, t0, until) {
  return milestones(profile, t0, 'worker', until).has('the first request runs in the worker');
}

function once(i) {
  const dir = join(scratch, `prof-${i}`);
  return new Promise((resolve, reject) => {
    const t0 = Number(process.hrtime.bigint() / 1000n);
    const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250', bin, 'up', '-f', example, '--listen', '127.0.0.1:0', '--state-dir', ''], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let first200;
    child.stdout.on('data', async (c) => {
      out += c;
      const m = /Serving (http:\/\/[\d.:]+)/.exec(out);
      if (m === null || child.polling) return;
      child.polling = true;
      for (;;) {
        const ok = await fetch(`${m[1]}/`).then(async (r) => (await r.arrayBuffer(), r.status === 200), () => false);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      first200 = Number(process.hrtime.bigint() / 1000n) - t0;
      child.kill('SIGINT');
    });
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', () => {
      if (first200 === undefined) return reject(new Error(`no first 200:\n${out}`));
      const files = readdirSync(dir).sort();
      const phases = new Map();
      for (const f of files) {
        const profile = JSON.parse(readFileSync(join(dir, f), 'utf8'));
        // CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile: thread 0 is the main thread.
        const thread = f.split('.')[4] === '0' ? 'main' : 'worker';
        for (const [label, ms] of milestones(profile, t0, thread, first200 / 1000)) {
          const seen = phases.get(label);
          // Workers start together: the one that answered the first request is the one that counts.
          if (seen === undefined || (thread === 'worker' && profileAnswered(profile, t0, first200 / 1000) && !seen.answered)) phases.set(label, { ms, answered: thread === 'worker' && profileAnswered(profile, t0, first200 / 1000) });
        }
      }
      resolve({ phases, first200: first200 / 1000 });
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const built = spawnSync(process.execPath, [join(example, 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (built.status !== 0) throw new Error('examples/hello did not build (node examples/hello/build.mjs)');
try {
  await once('warm'); // fills the cache: the runs below start warm
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await once(i));
  console.log(`spinel up -f examples/hello, start to first 200 (ms since spawn, medians of ${runs}, under --cpu-prof)`);
  // Under shared load every phase stretches: the share of the whole says more than the ms.
  const total = median(results.map((r) => r.first200));
  console.log(`${'milestone'.padEnd(56)} ${'at ms'.padStart(6)} ${'share'.padStart(6)}`);
  for (const [label] of MILESTONES) {
    const times = results.map((r) => r.phases.get(label)?.ms).filter((ms) => ms !== undefined);
    if (times.length > 0) console.log(`${label.padEnd(56)} ${median(times).toFixed(0).padStart(6)} ${`${((100 * median(times)) / total).toFixed(0)}%`.padStart(6)}`);
  }
  console.log(`${'the client has its first 200'.padEnd(56)} ${total.toFixed(0).padStart(6)} ${'100%'.padStart(6)}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
