// The CLI's start, as ratios against references measured in the same run (issue 11, P3):
//  1. fixed start: `spinel --version` and `spinel cache dir` against `node -e 0` (goal ≤ 2×);
//  2. `spinel up -f examples/hello` from start to the first 200 of its JavaScript route, with a
//     warm cache, against a bare node:http server's start to first 200 (goal ≤ 1.5×).
// Medians of several runs, wall-clock; under shared load the ratios are noisy (both sides slow
// down), so read them as direction. Beside each wall time, the process's CPU time (all its
// threads; from an exit hook, or /proc at the first 200) is printed: waiting for a core under
// shared load does not count there, so its ratios say what an idle machine would show more
// closely. `--runs N` changes the number of runs (default 9). `--baseline DIR` also times the
// CLI of another checkout (DIR/apps/cli, built), run for run alternately with this one so both
// see the same load, and prints each one's ratios: before and after a change, in one run.
// `--up-only` skips the fixed start (`--version`, `cache dir`) to time `spinel up` alone.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = join(here, '..', 'bin', 'run.js');
const example = join(here, '..', '..', '..', 'examples', 'hello');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
const baselineArg = process.argv.indexOf('--baseline');
const baselineBin = baselineArg > 0 ? join(process.argv[baselineArg + 1], 'apps', 'cli', 'bin', 'run.js') : undefined;
const upOnly = process.argv.includes('--up-only');
const scratch = mkdtempSync(join(tmpdir(), 'spinel-bench-start-'));
const env = { ...process.env, SPINEL_CACHE_DIR: join(scratch, 'cache'), SPINEL_DATA_DIR: join(scratch, 'data') };

// Loaded with -r into the short runs: prints the process's CPU time (µs) on fd 3 as it exits.
const cpuHook = join(scratch, 'cpu-hook.cjs');
writeFileSync(cpuHook, "process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeSync(3, String(u.user + u.system)); });\n");

/** CPU time (ms) a live process has used so far, all threads (Linux /proc); NaN elsewhere. */
function cpuSoFar(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeRun(args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['-r', cpuHook, ...args], { env, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let cpu = '';
    child.stdio[3].on('data', (c) => (cpu += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ wall: Number(process.hrtime.bigint() - started) / 1e6, cpu: Number(cpu) / 1000 }) : reject(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

/** Starts a server process and times start → first 200 on `path`; the process prints its URL. */
function timeFirst200(args, path, urlPattern) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(value);
    };
    const poll = async (base) => {
      for (;;) {
        try {
          const res = await fetch(`${base}${path}`);
          await res.arrayBuffer();
          if (res.status === 200) return finish(undefined, { wall: Number(process.hrtime.bigint() - started) / 1e6, cpu: cpuSoFar(child.pid) });
        } catch {
          // not listening yet
        }
        if (done) return undefined;
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    child.stdout.on('data', (c) => {
      out += c.toString();
      const m = urlPattern.exec(out);
      if (m !== null && !child.polling) {
        child.polling = true;
        void poll(m[1]);
      }
    });
    child.stderr.on('data', (c) => (out += c.toString()));
    child.on('exit', (code) => finish(new Error(`exited ${code} before answering:\n${out}`)));
    setTimeout(() => finish(new Error(`no 200 within 120 s:\n${out}`)), 120_000);
  });
}

/** Runs each variant `runs` times, alternating, and prints each one's medians. */
async function measureEach(variants) {
  const values = variants.map(() => []);
  for (let i = 0; i < runs; i++) for (const [n, [, fn]] of variants.entries()) values[n].push(await fn());
  return variants.map(([label], n) => {
    const m = { wall: median(values[n].map((v) => v.wall)), cpu: median(values[n].map((v) => v.cpu)) };
    console.log(`${label.padEnd(60)} ${m.wall.toFixed(0).padStart(6)} ms wall, ${m.cpu.toFixed(0).padStart(5)} ms CPU (medians of ${runs})`);
    return m;
  });
}

async function measure(label, fn) {
  return (await measureEach([[label, fn]]))[0];
}

const NODE_HTTP = `import { createServer } from 'node:http';
const server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('hello'); });
server.listen(0, '127.0.0.1', () => console.log('Serving http://127.0.0.1:' + server.address().port));`;

// The example's JavaScript component (componentize-js, ~10 s) when it is missing or stale.
const built = spawnSync(process.execPath, [join(example, 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (built.status !== 0) throw new Error('examples/hello did not build (node examples/hello/build.mjs)');

try {
  console.log('spinel start benchmark (ratios against references measured in this run)');
  const clis = [['', bin], ...(baselineBin === undefined ? [] : [[' (baseline)', baselineBin]])];
  const upArgs = (cli) => [cli, 'up', '-f', example, '--listen', '127.0.0.1:0', '--state-dir', ''];
  const node = upOnly ? undefined : await measure('node -e 0', () => timeRun(['-e', '0']));
  const version = upOnly ? undefined : await measureEach(clis.map(([tag, cli]) => [`spinel --version${tag}`, () => timeRun([cli, '--version'])]));
  const cacheDir = upOnly ? undefined : await measureEach(clis.map(([tag, cli]) => [`spinel cache dir${tag}`, () => timeRun([cli, 'cache', 'dir'])]));
  // Warm the cache (transpiled component) once before timing.
  for (const [, cli] of clis) await timeFirst200(upArgs(cli), '/', /Serving (http:\/\/127\.0\.0\.1:\d+)/);
  const serving = await measureEach([
    ['node:http: start → first 200', () => timeFirst200(['--input-type=module', '-e', NODE_HTTP], '/', /Serving (http:\/\/127\.0\.0\.1:\d+)/)],
    ...clis.map(([tag, cli]) => [`spinel up -f examples/hello: start → first 200${tag}`, () => timeFirst200(upArgs(cli), '/', /Serving (http:\/\/127\.0\.0\.1:\d+)/)]),
  ]);
  const httpFirst = serving[0];
  const ratio = (a, b) => `${(a.wall / b.wall).toFixed(2)}x wall, ${(a.cpu / b.cpu).toFixed(2)}x CPU`;
  console.log('');
  for (const [n, [tag]] of clis.entries()) {
    if (!upOnly) {
      const fixed = version[n].wall >= cacheDir[n].wall ? version[n] : cacheDir[n];
      console.log(`P3 fixed start (slower of --version, cache dir) / node -e 0${tag}: ${ratio(fixed, node)} (goal <= 2)`);
    }
    console.log(`P3 spinel up start → first 200 / node:http start → first 200${tag}: ${ratio(serving[n + 1], httpFirst)} (goal <= 1.5)`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
