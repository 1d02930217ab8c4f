import { SpinelCommand } from '../../base-command.js';
import { databasePath, sqlArg, sqlText, sqliteDatabaseFlags } from './shared.js';

/** `spinel sqlite exec SQL`: run statements (a script). */
export class SqliteExec extends SpinelCommand {
  static override summary = "Run SQL statements on an app's SQLite database.";
  static override description =
    'Runs every statement in order (a script, e.g. a schema), each in its own transaction unless the script says otherwise, and prints how many rows the last one changed. Use `spinel sqlite query` to see rows.';
  static override examples = [
    '<%= config.bin %> sqlite exec "CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT)"',
    '<%= config.bin %> sqlite exec @schema.sql -d orders --runtime-config-file runtime-config.toml',
  ];

  static override args = sqlArg;
  static override flags = { ...sqliteDatabaseFlags };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(SqliteExec);
    const path = await databasePath(flags);
    const { execSqliteDatabase } = await import('@spinel/runtime');
    const result = execSqliteDatabase(path, await sqlText(args.sql));
    if (!this.jsonEnabled()) process.stdout.write(`Done: ${result.changes} row(s) changed.\n`);
    return { database: flags.database, changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }
}
