// Run in a child process (through tsx) by the SQLite concurrency test:
//   <path> <count> <tag>   inserts <count> rows (tag, i) through the guest host's core, one statement each, prints "done"
import { createSqliteConnections, createSqliteFiles } from './sqlite-core.js';

const [path, countText, tag] = process.argv.slice(2);
const files = createSqliteFiles();
const sqlite = createSqliteConnections({ allowed: ['default'], databases: new Map([['default', { path: path as string }]]), files });
const conn = sqlite.open('default');
sqlite.execute(conn, 'CREATE TABLE IF NOT EXISTS writes (tag TEXT NOT NULL, i INTEGER NOT NULL)', []);
for (let i = 0; i < Number(countText); i++) {
  sqlite.execute(conn, 'INSERT INTO writes (tag, i) VALUES (?, ?)', [{ tag: 'text', val: tag as string }, { tag: 'integer', val: BigInt(i) }]);
}
sqlite.closeAll();
files.close();
process.stdout.write('done\n');
