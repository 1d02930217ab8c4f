// `pnpm bench`: the host binding against raw better-sqlite3, and get-many against single gets.
// Every verdict is a ratio of two measurements taken side by side in this run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startRedis } from '@spinel/test-utils';
import { createKvHost, openRedisKvStore, openSqliteKvDatabase } from '../src/index.js';

const ROUNDS = 9;
const KEYS = 1000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

interface Timing {
  /** Median wall-clock ns per op. */
  wall: number;
  /** Median CPU ns per op of this process (user + system): what other load on a shared machine disturbs least. */
  cpu: number;
}

/** Runs each variant once per round, alternating, and returns the median ns per op of each. */
async function compare(variants: Record<string, () => number | Promise<number>>): Promise<Record<string, Timing>> {
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (const name of Object.keys(variants)) {
    wall[name] = [];
    cpu[name] = [];
  }
  for (let round = 0; round < ROUNDS + 1; round += 1) {
    for (const [name, run] of Object.entries(variants)) {
      const start = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      const ops = await run();
      const used = process.cpuUsage(cpuStart);
      const ns = Number(process.hrtime.bigint() - start) / ops;
      if (round > 0) {
        // round 0 warms up
        wall[name]?.push(ns);
        cpu[name]?.push(((used.user + used.system) * 1000) / ops);
      }
    }
  }
  return Object.fromEntries(Object.keys(variants).map((name) => [name, { wall: median(wall[name] ?? []), cpu: median(cpu[name] ?? []) }]));
}

function report(title: string, results: Record<string, Timing>, ratio: [string, string], goal: string): void {
  console.log(`\n${title}`);
  for (const [name, t] of Object.entries(results)) console.log(`  ${name.padEnd(34)} ${(t.wall / 1000).toFixed(2).padStart(9)} µs/op wall ${(t.cpu / 1000).toFixed(2).padStart(9)} µs/op CPU`);
  const [a, b] = ratio;
  const ra = results[a] as Timing;
  const rb = results[b] as Timing;
  console.log(`  ratio ${a} / ${b} = ${(ra.wall / rb.wall).toFixed(2)}× wall, ${(ra.cpu / rb.cpu).toFixed(2)}× CPU  (goal: ${goal})`);
}

const dir = mkdtempSync(join(tmpdir(), 'spinel-kv-bench-'));
const redis = await startRedis();
try {
  const path = join(dir, 'sqlite_key_value.db');
  const kv = openSqliteKvDatabase(path);
  const sqliteStore = kv.store('default');
  const keys = Array.from({ length: KEYS }, (_, i) => `key:${String(i).padStart(6, '0')}`);
  const value = new Uint8Array(100).fill(7);
  sqliteStore.setMany(keys.map((k) => [k, value]));

  // The reference: raw prepared statements on a twin file with the same schema, data and
  // pragmas (its own file, so neither connection invalidates the other's page cache).
  const raw = new Database(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec('CREATE TABLE spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))');
  const rawGet = raw.prepare('SELECT value FROM spin_key_value WHERE store = ? AND key = ?').pluck();
  const rawSet = raw.prepare('INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) ON CONFLICT(store, key) DO UPDATE SET value = excluded.value');
  const rawValue = Buffer.from(value);
  raw.transaction(() => {
    for (const key of keys) rawSet.run('default', key, rawValue);
  })();

  const host = createKvHost({ allowedLabels: ['default'], stores: new Map([['default', sqliteStore]]) });
  const store = host.imports['fermyon:spin/key-value@2.0.0'].Store.open('default');

  const GETS = 20_000;
  report('get: host binding (fermyon:spin/key-value@2.0.0 Store.get) vs raw better-sqlite3', await compare({
    'raw better-sqlite3 get': () => {
      for (let i = 0; i < GETS; i += 1) rawGet.get('default', keys[i % KEYS]);
      return GETS;
    },
    'host binding get': () => {
      for (let i = 0; i < GETS; i += 1) store.get(keys[i % KEYS] as string);
      return GETS;
    },
  }), ['host binding get', 'raw better-sqlite3 get'], '≤ 1.25×');

  const SETS = 3000;
  report('set: host binding (Store.set) vs raw better-sqlite3 upsert', await compare({
    'raw better-sqlite3 set': () => {
      for (let i = 0; i < SETS; i += 1) rawSet.run('default', keys[i % KEYS], rawValue);
      return SETS;
    },
    'host binding set': () => {
      for (let i = 0; i < SETS; i += 1) store.set(keys[i % KEYS] as string, value);
      return SETS;
    },
  }), ['host binding set', 'raw better-sqlite3 set'], '≤ 1.25×');

  const BATCHES = 20;
  report(`SQLite: ${KEYS} single gets vs one get-many of ${KEYS} keys (per batch of ${KEYS})`, await compare({
    [`${KEYS} single gets`]: () => {
      for (let b = 0; b < BATCHES; b += 1) for (const key of keys) sqliteStore.get(key);
      return BATCHES;
    },
    [`get-many of ${KEYS}`]: () => {
      for (let b = 0; b < BATCHES; b += 1) sqliteStore.getMany(keys);
      return BATCHES;
    },
  }), [`${KEYS} single gets`, `get-many of ${KEYS}`], 'get-many ≥ 10× faster');

  // Where a single get's time goes: the same statements inside one read transaction pay SQLite's
  // WAL read lock once instead of once per get.
  const rawTx = raw.transaction(() => {
    for (const key of keys) rawGet.get('default', key);
  });
  report(`where single gets spend their time: ${KEYS} raw gets, each its own read transaction vs all in one`, await compare({
    [`${KEYS} raw gets`]: () => {
      for (let b = 0; b < 3; b += 1) for (const key of keys) rawGet.get('default', key);
      return 3;
    },
    [`${KEYS} raw gets in one transaction`]: () => {
      for (let b = 0; b < 3; b += 1) rawTx();
      return 3;
    },
  }), [`${KEYS} raw gets`, `${KEYS} raw gets in one transaction`], 'diagnostic: the share of the per-get read transaction');

  const bucket = host.imports['wasi:keyvalue/store'].open('default');
  const { getMany } = host.imports['wasi:keyvalue/batch'];
  report(`SQLite through wasi:keyvalue host binding: ${KEYS} bucket.get vs batch.get-many`, await compare({
    [`${KEYS} bucket.get`]: () => {
      for (let b = 0; b < BATCHES; b += 1) for (const key of keys) bucket.get(key);
      return BATCHES;
    },
    [`get-many of ${KEYS}`]: () => {
      for (let b = 0; b < BATCHES; b += 1) getMany(bucket, keys);
      return BATCHES;
    },
  }), [`${KEYS} bucket.get`, `get-many of ${KEYS}`], 'get-many ≥ 10× faster');

  const redisStore = openRedisKvStore(redis.url);
  await redisStore.setMany(keys.map((k) => [k, value]));
  report(`Redis: ${KEYS} single gets (sequential, as a guest issues them) vs one get-many (MGET)`, await compare({
    [`${KEYS} single gets`]: async () => {
      for (const key of keys) await redisStore.get(key);
      return 1;
    },
    [`get-many of ${KEYS}`]: async () => {
      for (let b = 0; b < 5; b += 1) await redisStore.getMany(keys);
      return 5;
    },
  }), [`${KEYS} single gets`, `get-many of ${KEYS}`], 'get-many ≥ 10× faster');

  await redisStore.close();
  host.dispose();
  raw.close();
  kv.close();
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
