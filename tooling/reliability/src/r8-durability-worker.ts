/**
 * R8's child process. Commands:
 *   kv-write <db> <count>       set k<i> = "value <i>" in the SQLite key-value store, print "acked <i>" after each, then wait
 *   sql-write <db> <count>      INSERT row <i> through the runtime's SQLite access, print "acked <i>" after each, then wait
 *   kv-increment <db> <count>   increment key "counter" <count> times, print "done"
 *   sql-increment <db> <count>  UPDATE counter SET n = n + 1 <count> times, print "done"
 * The parent SIGKILLs the writers at a random point and checks every acknowledged write.
 */
import { openSqliteKvDatabase } from '@spinel/kv-wit';
import { querySqliteDatabase } from '@spinel/runtime';

const [command, path = '', countText = '0'] = process.argv.slice(2);
const total = Number(countText);
const encoder = new TextEncoder();

if (command === 'kv-write' || command === 'kv-increment') {
  const db = openSqliteKvDatabase(path);
  const store = db.store('default');
  for (let i = 0; i < total; i++) {
    if (command === 'kv-write') {
      store.set(`k${i}`, encoder.encode(`value ${i}`));
      process.stdout.write(`acked ${i}\n`);
    } else store.increment('counter', 1n);
  }
  if (command === 'kv-increment') {
    db.close();
    process.stdout.write('done\n');
  }
} else if (command === 'sql-write' || command === 'sql-increment') {
  querySqliteDatabase(path, 'CREATE TABLE IF NOT EXISTS acked (i INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  for (let i = 0; i < total; i++) {
    if (command === 'sql-write') {
      querySqliteDatabase(path, `INSERT INTO acked (i, v) VALUES (${i}, 'value ${i}')`);
      process.stdout.write(`acked ${i}\n`);
    } else querySqliteDatabase(path, 'UPDATE counter SET n = n + 1 WHERE id = 1');
  }
  if (command === 'sql-increment') process.stdout.write('done\n');
} else {
  process.stderr.write(`unknown command ${String(command)}\n`);
  process.exit(2);
}
if (command?.endsWith('-write')) setInterval(() => undefined, 60_000);
