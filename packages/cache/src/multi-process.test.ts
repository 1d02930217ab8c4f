import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCache } from './cache.js';
import { sha256Digest } from './digest.js';
import { isTempName } from './temp-files.js';
import { content } from './test-put-worker.js';

const WORKER = fileURLToPath(new URL('./test-put-worker.ts', import.meta.url));
const MiB = 1024 * 1024;

let root: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'spinel-cache-mp-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

interface Worker {
  child: ChildProcess;
  lines: string[];
  waitFor(line: string): Promise<void>;
  exit: Promise<{ code: number | null; stderr: string }>;
}

function startWorker(mode: string, specs: string[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, root, mode, ...specs], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  let buffered = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.line === line)) waiter.resolve();
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  const waitFor = (line: string) =>
    new Promise<void>((resolve, reject) => {
      if (lines.includes(line)) return resolve();
      waiters.push({ line, resolve });
      void exit.then(({ code }) => reject(new Error(`worker exited (${code}) before "${line}": ${stderr}`)));
    });
  return { child, lines, waitFor, exit };
}

async function blobFiles(kind: 'data' | 'wasm' = 'data'): Promise<string[]> {
  return (await readdir(join(root, 'registry', kind))).sort();
}

describe('several processes sharing one cache', () => {
  it('eight processes putting the same and different digests at once all succeed with one correct file each', async () => {
    const shared = 'shared:4194304';
    const workers = Array.from({ length: 8 }, (_, i) => startWorker('put', [shared, `own-${i}:${MiB + i}`]));
    await Promise.all(workers.map((w) => w.waitFor('ready')));

    const sharedBytes = content('shared', 4 * MiB);
    const sharedDigest = sha256Digest(sharedBytes);
    const sharedPath = join(root, 'registry', 'data', sharedDigest);
    // A reader polling the final name while the writers race must only ever see whole, valid content.
    let done = false;
      const reader = (async () => {
      while (!done) {
        const bytes = await readFile(sharedPath).catch(() => undefined);
        if (bytes !== undefined) {
          expect(sha256Digest(bytes)).toBe(sharedDigest);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    for (const w of workers) w.child.stdin?.write('go\n');
    const exits = await Promise.all(workers.map((w) => w.exit));
    done = true;
    await reader;
    for (const exit of exits) expect(exit).toEqual({ code: 0, stderr: '' });

    const results = workers.map((w) => JSON.parse(w.lines.at(-1) ?? '[]') as Array<{ digest: string; existed: boolean; size: number }>);
    expect(results.every((r) => r[0]?.digest === sharedDigest && r[0].size === 4 * MiB)).toBe(true);

    const files = await blobFiles();
    expect(files.filter(isTempName)).toEqual([]);
    expect(files).toHaveLength(9);
    const cache = openCache({ root });
    expect((await cache.readBytes(sharedDigest, { verify: 'full' })).equals(sharedBytes)).toBe(true);
    for (let i = 0; i < 8; i += 1) {
      const bytes = content(`own-${i}`, MiB + i);
      expect((await cache.readBytes(sha256Digest(bytes), { verify: 'full', size: MiB + i })).equals(bytes)).toBe(true);
    }
    expect((await cache.verify()).corrupt).toEqual([]);
  }, 120_000);

  it('eight processes building the same derived artifact leave one complete directory', async () => {
    const workers = Array.from({ length: 8 }, () => startWorker('derived', ['jco-transpile-1.0.0-abc', 'other-key']));
    await Promise.all(workers.map((w) => w.waitFor('ready')));
    for (const w of workers) w.child.stdin?.write('go\n');
    const exits = await Promise.all(workers.map((w) => w.exit));
    for (const exit of exits) expect(exit).toEqual({ code: 0, stderr: '' });
    const results = workers.map((w) => JSON.parse(w.lines.at(-1) ?? '[]') as Array<{ path: string; created: boolean }>);
    expect(results.filter((r) => r[0]?.created === true)).toHaveLength(1);
    expect(results.filter((r) => r[1]?.created === true)).toHaveLength(1);
    expect((await readdir(join(root, 'derived'))).sort()).toEqual(['jco-transpile-1.0.0-abc', 'other-key']);
    // All five files come from one builder: no mixing of two half-built directories.
    const dir = join(root, 'derived', 'jco-transpile-1.0.0-abc');
    const parts = await Promise.all([0, 1, 2, 3, 4].map((i) => readFile(join(dir, `part-${i}.txt`), 'utf8')));
    expect(new Set(parts).size).toBe(1);
  }, 120_000);

  it('a process killed with SIGKILL mid-put leaves no entry, only a temporary file that prune removes', async () => {
    const size = 4 * MiB;
    const bytes = content('killed', size);
    const digest = sha256Digest(bytes);
    const victim = startWorker('hang', [`killed:${size}`]);
    const survivor = startWorker('hang', [`survivor:${size}`]);
    await Promise.all([victim.waitFor('started'), survivor.waitFor('started')]);
    victim.child.kill('SIGKILL');
    await victim.exit;

    const cache = openCache({ root });
    expect(await cache.has(digest)).toBe(false);
    const leftovers = (await blobFiles()).filter(isTempName);
    expect(leftovers).toHaveLength(2);
    expect(await cache.list()).toEqual([]);

    // The survivor is still writing: its temporary file is live and must be kept.
    const report = await cache.prune({ tempGraceMs: 0 });
    expect(report.removedTemps.map((t) => t.pid)).toEqual([victim.child.pid]);
    const afterPrune = (await blobFiles()).filter(isTempName);
    expect(afterPrune).toHaveLength(1);
    expect(afterPrune[0]).toContain(`-${survivor.child.pid}-`);

    // Nothing stops a later put of the same digest.
    expect(await cache.putBytes(digest, bytes)).toMatchObject({ existed: false, size });
    expect((await cache.readBytes(digest, { verify: 'full' })).equals(bytes)).toBe(true);
  }, 120_000);
});
