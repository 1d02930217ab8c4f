// Benchmarks for @spinel/cache. Run with `pnpm bench` (tsx). Verdicts are ratios against
// references measured in the same run:
//   1. put of a 256 MiB file vs `sha256sum` of the same file (goal: throughput ratio >= 0.8;
//      medians of alternating runs), and the peak RSS the put adds in a fresh process (goal: <= 64 MiB);
//   2. 10,000 small puts vs plain write+rename of the same files.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCache } from '../src/index.js';

const MiB = 1024 * 1024;
const LARGE = Number(process.env['BENCH_LARGE_MIB'] ?? 256) * MiB;
const SMALL_COUNT = Number(process.env['BENCH_SMALL_COUNT'] ?? 10_000);
const LARGE_RUNS = Number(process.env['BENCH_LARGE_RUNS'] ?? 3);
const SMALL_FSYNC_COUNT = Number(process.env['BENCH_SMALL_FSYNC_COUNT'] ?? 300);

async function childPut(root: string, file: string, digest: string, fsync: boolean, how: string, chunk: number): Promise<void> {
  const cache = openCache({ root, fsync });
  const before = process.resourceUsage();
  const start = process.hrtime.bigint();
  if (how === 'file') await cache.putFile(digest, file);
  else await cache.putStream(digest, createReadStream(file, chunk > 0 ? { highWaterMark: chunk } : {}));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const after = process.resourceUsage();
  const cpuSeconds = (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / 1e6;
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds, addedRssKiB: after.maxRSS - before.maxRSS }));
}

function timeIt(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function makeLargeFile(path: string): Promise<void> {
  const handle = await open(path, 'w');
  const block = Buffer.allocUnsafe(4 * MiB);
  for (let written = 0; written < LARGE; written += block.length) {
    randomFillSync(block);
    await handle.write(block, 0, Math.min(block.length, LARGE - written));
  }
  await handle.close();
}

interface Variant {
  name: string;
  how: 'file' | 'stream';
  fsync: boolean;
  /** highWaterMark of the read stream; 0 for the default (64 KiB). */
  chunk: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface ChildResult {
  seconds: number;
  cpuSeconds: number;
  addedRssKiB: number;
}

function runChild(root: string, file: string, digest: string, variant: Variant): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const args = [self, 'child', root, file, digest, String(variant.fsync), variant.how, String(variant.chunk)];
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ChildResult;
}

async function benchLarge(dir: string): Promise<void> {
  const file = join(dir, 'large.bin');
  await makeLargeFile(file);
  // sha256sum runs under bash so its CPU time can be read with `times`.
  const shaRuns: Array<{ seconds: number; cpuSeconds: number }> = [];
  let digest = '';
  // fsync=true is the default; the no-fsync stream shows what flushing costs (sha256sum writes
  // nothing). The stream's chunk size is the caller's: 64 KiB is a default fs.ReadStream (and
  // about what a network body gives), 1 MiB a file stream opened with highWaterMark: 1 MiB.
  const variants: Variant[] = [
    { name: 'putFile fsync=true', how: 'file', fsync: true, chunk: 0 },
    { name: 'putStream 64K fsync=true', how: 'stream', fsync: true, chunk: 0 },
    { name: 'putStream 1M fsync=true', how: 'stream', fsync: true, chunk: MiB },
    { name: 'putStream 64K fsync=false', how: 'stream', fsync: false, chunk: 0 },
    { name: 'putStream 1M fsync=false', how: 'stream', fsync: false, chunk: MiB },
  ];
  const results: Record<string, ChildResult[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  // Reference and puts alternate, so a burst of load on a shared machine hits all of them.
  for (let i = 0; i <= LARGE_RUNS; i += 1) {
    let out = '';
    const seconds = timeIt(() => {
      out = execFileSync('bash', ['-c', 'sha256sum "$1"; times', 'bench', file], { encoding: 'utf8' });
    });
    digest = `sha256:${out.split(' ')[0]}`;
    const childTimes = out.trim().split('\n').at(-1) ?? '';
    const cpuSeconds = [...childTimes.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
    shaRuns.push({ seconds, cpuSeconds });
    if (i === LARGE_RUNS) break;
    for (const variant of variants) {
      const root = join(dir, `cache-${i}`);
      results[variant.name]!.push(runChild(root, file, digest, variant));
      await rm(root, { recursive: true, force: true });
    }
  }
  const sha = median(shaRuns.map((r) => r.seconds));
  const shaCpu = median(shaRuns.map((r) => r.cpuSeconds));
  const mb = LARGE / MiB;
  console.log(
    `put of a ${mb} MiB file (medians of ${LARGE_RUNS}; sha256sum median of ${LARGE_RUNS + 1}: ` +
      `${(mb / sha).toFixed(0)} MiB/s wall, ${(mb / shaCpu).toFixed(0)} MiB/s CPU)`,
  );
  for (const [variant, runs] of Object.entries(results)) {
    const seconds = median(runs.map((r) => r.seconds));
    const cpu = median(runs.map((r) => r.cpuSeconds));
    const rss = Math.max(...runs.map((r) => r.addedRssKiB));
    const ratio = sha / seconds;
    console.log(
      `  ${variant.padEnd(25)} throughput ratio to sha256sum: ${ratio.toFixed(2)} wall (goal >= 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'}), ` +
        `${(shaCpu / cpu).toFixed(2)} by CPU time; peak RSS added: ${(rss / 1024).toFixed(1)} MiB (goal <= 64: ${rss <= 64 * 1024 ? 'met' : 'NOT met'})`,
    );
  }
}

async function benchSmall(dir: string): Promise<void> {
  const files: Array<{ bytes: Buffer; digest: string }> = [];
  for (let i = 0; i < SMALL_COUNT; i += 1) {
    const bytes = randomFillSync(Buffer.allocUnsafe(256 + ((i * 7919) % 3840)));
    files.push({ bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` });
  }

  // The two sides alternate file by file, so a burst of load on a shared machine hits both.
  async function compare(count: number, fsync: boolean): Promise<{ plain: number; put: number }> {
    const target = join(dir, `plain-${fsync}`);
    await mkdir(target, { recursive: true });
    const root = join(dir, `cache-small-${fsync}`);
    const cache = openCache({ root, fsync });
    let plain = 0n;
    let put = 0n;
    for (const { bytes, digest } of files.slice(0, count)) {
      const t0 = process.hrtime.bigint();
      const tmp = join(target, `tmp-${digest.slice(7, 23)}`);
      if (fsync) {
        const handle = await open(tmp, 'w');
        await handle.writeFile(bytes);
        await handle.sync();
        await handle.close();
      } else {
        await writeFile(tmp, bytes);
      }
      await rename(tmp, join(target, digest));
      const t1 = process.hrtime.bigint();
      await cache.putBytes(digest, bytes);
      put += process.hrtime.bigint() - t1;
      plain += t1 - t0;
    }
    await rm(target, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
    return { plain: Number(plain) / 1e9, put: Number(put) / 1e9 };
  }

  const noSync = await compare(SMALL_COUNT, false);
  const withSync = await compare(SMALL_FSYNC_COUNT, true);
  const plainNoSync = noSync.plain;
  const putNoSync = noSync.put;
  const plainSync = withSync.plain;
  const putSync = withSync.put;
  console.log(`${SMALL_COUNT} small puts (256 B to 4 KiB), sequential, interleaved with the reference`);
  console.log(
    `  without fsync: put takes ${(putNoSync / plainNoSync).toFixed(2)}x the time of plain write+rename ` +
      `(throughput ratio ${(plainNoSync / putNoSync).toFixed(2)})`,
  );
  console.log(
    `  with fsync (${SMALL_FSYNC_COUNT} files): put takes ${(putSync / plainSync).toFixed(2)}x the time of plain write+fsync+rename; ` +
      `fsync'd put vs plain write+rename without fsync: ${((putSync / SMALL_FSYNC_COUNT) / (plainNoSync / SMALL_COUNT)).toFixed(1)}x per file`,
  );
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'child') {
    const [root, file, digest, fsync, how, chunk] = args as [string, string, string, string, string, string];
    await childPut(root, file, digest, fsync === 'true', how, Number(chunk));
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'spinel-cache-bench-'));
  try {
    const only = process.env['BENCH_ONLY'];
    if (only === undefined || only === 'large') await benchLarge(dir);
    if (only === undefined || only === 'small') await benchSmall(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
