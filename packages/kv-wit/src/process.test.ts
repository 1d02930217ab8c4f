import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '@spinel/test-utils';
import type { RedisServer } from '@spinel/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisKvStore } from './redis-store.js';
import { openSqliteKvDatabase } from './sqlite-store.js';

const CHILD = fileURLToPath(new URL('./test-fixtures/test-child.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChild(args: string[], onStdout?: (text: string, kill: () => void) => void): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, () => child.kill('SIGKILL'));
    });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('across processes', () => {
  let dir: string;
  let redis: RedisServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spinel-kv-proc-'));
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('two processes incrementing one SQLite key 1,000 times each end at 2,000, never "database is locked"', async () => {
    const path = join(dir, 'concurrent', 'sqlite_key_value.db');
    const results = await Promise.all([runChild(['increment', 'sqlite', path, '1000']), runChild(['increment', 'sqlite', path, '1000'])]);
    for (const result of results) {
      expect(result.stderr).not.toMatch(/locked|busy/i);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('done');
    }
    const db = openSqliteKvDatabase(path);
    expect(db.store('default').increment('counter', 0n)).toBe(2000n);
    db.close();
  }, 120_000);

  it('processes that open the same new SQLite files at the same moments all succeed (no "database is locked" at open)', async () => {
    // Creating a file races: the switch to WAL and CREATE TABLE can get SQLITE_BUSY without
    // SQLite's busy handler ever waiting; openSqliteKvDatabase must retry, not fail. Four
    // processes released together open the same 60 new files in the same order.
    const base = join(dir, 'fresh');
    const goFile = join(dir, 'go');
    const keys = ['a', 'b', 'c', 'd'];
    let ready = 0;
    const results = Promise.all(
      keys.map((key) =>
        runChild(['open-many', base, '60', key, goFile], (stdout) => {
          if (stdout === 'ready\n' && (ready += 1) === keys.length) writeFileSync(goFile, '');
        }),
      ),
    );
    for (const result of await results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    for (let i = 0; i < 60; i += 1) {
      const db = openSqliteKvDatabase(join(base, String(i), 'sqlite_key_value.db'));
      expect(db.store('default').getMany(keys).map(([key, value]) => [key, value && new TextDecoder().decode(value)])).toEqual(keys.map((key) => [key, 'opened']));
      db.close();
    }
  }, 120_000);

  it('two processes incrementing one Redis key 1,000 times each end at 2,000', async () => {
    const results = await Promise.all([runChild(['increment', 'redis', redis.url, '1000']), runChild(['increment', 'redis', redis.url, '1000'])]);
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    const store = openRedisKvStore(redis.url);
    expect(await store.increment('counter', 0n)).toBe(2000n);
    expect([...(await store.get('counter')) ?? []]).toEqual([0xd0, 0x07, 0, 0, 0, 0, 0, 0]);
    await store.close();
  }, 120_000);

  it('keeps every acknowledged SQLite write when the writer is SIGKILLed', async () => {
    const path = join(dir, 'durable', 'sqlite_key_value.db');
    let acked = -1;
    const result = await runChild(['write-then-hang', path, '200'], (stdout, kill) => {
      const matches = [...stdout.matchAll(/acked (\d+)/g)];
      acked = Number(matches[matches.length - 1]?.[1] ?? -1);
      // Kill mid-stream, right after an acknowledgement, with no chance to close the database.
      if (acked >= 150) kill();
    });
    expect(result.code).toBeNull();
    expect(acked).toBeGreaterThanOrEqual(150);
    const db = openSqliteKvDatabase(path);
    const store = db.store('default');
    for (let i = 0; i <= acked; i += 1) expect(new TextDecoder().decode(store.get(`k${i}`))).toBe(`value ${i}`);
    db.close();
  }, 60_000);
});
