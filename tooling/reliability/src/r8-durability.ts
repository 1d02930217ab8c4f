/**
 * R8 — key-value and SQLite durability: a writer acknowledges each write only after the
 * store returned, and is SIGKILLed at a random point; every acknowledged write must be there
 * when the database is opened again. Two processes incrementing one counter must end exactly
 * at the sum.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openSqliteKvDatabase } from '@spinel/kv-wit';
import { execSqliteDatabase, querySqliteDatabase } from '@spinel/runtime';
import { exited, forkModule } from './child-process.js';
import { Dice, seededRandom } from './seeded-random.js';
import { count, result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';

function worker(args: string[]): ChildProcess {
  return forkModule('r8-durability-worker', args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
}

/** Starts a writer and SIGKILLs it after `acks` acknowledgements; returns the last acknowledged index. */
async function killAfter(args: string[], acks: number): Promise<{ lastAcked: number; stderr: string }> {
  const child = worker(args);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let lastAcked = -1;
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const m = /^acked (\d+)$/.exec(line);
    if (m === null) continue;
    lastAcked = Number(m[1]);
    if (lastAcked + 1 >= acks) {
      // Killed between two writes or in the middle of the next one: either way, what was acknowledged must stay.
      child.kill('SIGKILL');
      break;
    }
  }
  lines.close();
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
  return { lastAcked, stderr };
}

async function runToEnd(args: string[]): Promise<string> {
  const child = worker(args);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const { code } = await exited(child);
  if (code !== 0 || !out.includes('done')) throw new Error(`${args[0]} ended with ${String(code)}: ${out.trim().slice(-500)}`);
  return out;
}

export const r8: Suite = {
  id: 'R8',
  title: 'KV and SQLite durability',
  proves: 'writes acknowledged by the SQLite key-value store and by the runtime\'s SQLite database survive a SIGKILL of the writer, and two processes incrementing one counter end exactly at the sum',
  async run(profile: Profile): Promise<SuiteResult> {
    const rounds = profile === 'full' ? 20 : 3;
    const increments = profile === 'full' ? 2000 : 200;
    const dir = await mkdtemp(join(tmpdir(), 'spinel-r8-'));
    const problems: string[] = [];
    const dice = new Dice(seededRandom(8));
    const tally = { kv: { kills: 0, acked: 0, lost: 0 }, sql: { kills: 0, acked: 0, lost: 0 } };
    try {
      for (let round = 0; round < rounds; round++) {
        // Key-value store (SQLite backend, as `spinel up` uses by default).
        const kvPath = join(dir, `kv-${round}.db`);
        const kv = await killAfter(['kv-write', kvPath, '1000000'], 20 + dice.int(400));
        tally.kv.kills++;
        tally.kv.acked += kv.lastAcked + 1;
        const db = openSqliteKvDatabase(kvPath);
        const store = db.store('default');
        for (let i = 0; i <= kv.lastAcked; i++) {
          const value = store.get(`k${i}`);
          if (value === undefined || new TextDecoder().decode(value) !== `value ${i}`) {
            tally.kv.lost++;
            if (tally.kv.lost <= 3) problems.push(`key-value: acknowledged k${i} (round ${round}) is ${value === undefined ? 'missing' : 'wrong'} after SIGKILL`);
          }
        }
        db.close();

        // The runtime's SQLite database access (what guests and `spinel sqlite` use).
        const sqlPath = join(dir, `sql-${round}.db`);
        const sql = await killAfter(['sql-write', sqlPath, '1000000'], 20 + dice.int(200));
        tally.sql.kills++;
        tally.sql.acked += sql.lastAcked + 1;
        if (sql.lastAcked >= 0) {
          const rows = querySqliteDatabase(sqlPath, `SELECT i, v FROM acked WHERE i <= ${sql.lastAcked} ORDER BY i`).rows;
          const seen = new Set(rows.map((r) => Number((r.values[0] as { val: bigint }).val)));
          for (let i = 0; i <= sql.lastAcked; i++) {
            if (!seen.has(i)) {
              tally.sql.lost++;
              if (tally.sql.lost <= 3) problems.push(`SQLite: acknowledged row ${i} (round ${round}) is missing after SIGKILL`);
            }
          }
        }
      }

      // Exact concurrent increments, two processes at once.
      const kvCounter = join(dir, 'kv-counter.db');
      await Promise.all([runToEnd(['kv-increment', kvCounter, String(increments)]), runToEnd(['kv-increment', kvCounter, String(increments)])]);
      const kvDb = openSqliteKvDatabase(kvCounter);
      const kvTotal = kvDb.store('default').increment('counter', 0n);
      kvDb.close();
      if (kvTotal !== BigInt(2 * increments)) problems.push(`key-value counter is ${kvTotal} after 2 × ${increments} increments`);

      const sqlCounter = join(dir, 'sql-counter.db');
      execSqliteDatabase(sqlCounter, 'CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0);');
      await Promise.all([runToEnd(['sql-increment', sqlCounter, String(increments)]), runToEnd(['sql-increment', sqlCounter, String(increments)])]);
      const sqlTotal = (querySqliteDatabase(sqlCounter, 'SELECT n FROM counter WHERE id = 1').rows[0]?.values[0] as { val: bigint } | undefined)?.val;
      if (sqlTotal !== BigInt(2 * increments)) problems.push(`SQLite counter is ${String(sqlTotal)} after 2 × ${increments} increments`);

      if (tally.kv.acked === 0 || tally.sql.acked === 0) problems.push('no write was acknowledged before the kills: nothing was tested');
      return result(
        this,
        `key-value: ${tally.kv.kills} SIGKILLs, ${count(tally.kv.acked)} acknowledged writes, ${tally.kv.lost} lost; SQLite: ${tally.sql.kills} SIGKILLs, ${count(tally.sql.acked)} acknowledged, ${tally.sql.lost} lost; 2 × ${count(increments)} concurrent increments → ${String(kvTotal)} (KV), ${String(sqlTotal)} (SQLite)`,
        problems,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
