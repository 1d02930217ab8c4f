import { SpinelCommand } from '../../base-command.js';
import { databasePath, jsonValue, sqlArg, sqlText, sqliteDatabaseFlags, textValue } from './shared.js';

/** `spinel sqlite query SQL`: run one statement and print its rows. */
export class SqliteQuery extends SpinelCommand {
  static override summary = "Run one SQL statement on an app's SQLite database and print the rows.";
  static override description =
    'Prints the columns and rows as a table (NULL for null, x\'…\' for blobs), or with --json as {columns, rows} with integers as numbers (strings beyond 2^53) and blobs as {"base64": …}. A statement that returns no rows prints how many rows it changed.';
  static override examples = [
    '<%= config.bin %> sqlite query "SELECT * FROM todos"',
    '<%= config.bin %> sqlite query -d orders "SELECT count(*) FROM orders" --json',
    '<%= config.bin %> sqlite query @report.sql -f ./my-app',
  ];

  static override args = sqlArg;
  static override flags = { ...sqliteDatabaseFlags };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(SqliteQuery);
    const path = await databasePath(flags);
    const { querySqliteDatabase } = await import('@spinel/runtime');
    const result = querySqliteDatabase(path, await sqlText(args.sql));
    if (!this.jsonEnabled()) {
      if (result.columns.length === 0) process.stdout.write(`${result.changes} row(s) changed.\n`);
      else process.stdout.write(table(result.columns, result.rows.map((r) => r.values.map(textValue))));
    }
    return {
      database: flags.database,
      columns: result.columns,
      rows: result.rows.map((r) => r.values.map(jsonValue)),
      changes: Number(result.changes),
    };
  }
}

function table(columns: string[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')}`.trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)].join('\n') + '\n';
}
