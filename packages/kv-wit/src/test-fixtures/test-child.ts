// Run by the durability and concurrency tests in a separate process (through tsx).
//   increment <sqlite|redis> <path-or-url> <count>   add 1 to key "counter" <count> times, print "done"
//   write-then-hang <path> <count>                  set k0..k<count-1>, print "acked" after each, then wait to be killed
//   open-many <dir> <count> <key> <go-file>         print "ready", wait for <go-file>, then open <dir>/0..<count-1>/…db, set <key> in each
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openRedisKvStore } from '../redis-store.js';
import { openSqliteKvDatabase } from '../sqlite-store.js';

const [command, backend, target, countText] = process.argv.slice(2);

async function main(): Promise<void> {
  if (command === 'increment' && target !== undefined) {
    const count = Number(countText);
    if (backend === 'sqlite') {
      const db = openSqliteKvDatabase(target);
      const store = db.store('default');
      for (let i = 0; i < count; i += 1) store.increment('counter', 1n);
      db.close();
    } else {
      const store = openRedisKvStore(target);
      for (let i = 0; i < count; i += 1) await store.increment('counter', 1n);
      await store.close();
    }
    process.stdout.write('done\n');
    return;
  }
  if (command === 'open-many' && backend !== undefined) {
    const [dir, count, key, goFile] = [backend, Number(target), String(countText), String(process.argv[6])];
    process.stdout.write('ready\n');
    // Spin (not a timer) so that every process starts within the same millisecond of the go.
    while (!existsSync(goFile)) {
      // waiting for the test to say go
    }
    for (let i = 0; i < count; i += 1) {
      const db = openSqliteKvDatabase(join(dir, String(i), 'sqlite_key_value.db'));
      db.store('default').set(key, new TextEncoder().encode('opened'));
      db.close();
    }
    process.stdout.write('done\n');
    return;
  }
  if (command === 'write-then-hang' && backend !== undefined) {
    const count = Number(target);
    const db = openSqliteKvDatabase(backend);
    const store = db.store('default');
    for (let i = 0; i < count; i += 1) {
      store.set(`k${i}`, new TextEncoder().encode(`value ${i}`));
      process.stdout.write(`acked ${i}\n`);
    }
    setInterval(() => {}, 1000);
    return;
  }
  throw new Error(`unknown command ${String(command)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
