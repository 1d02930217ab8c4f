import { Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { kvStoreFlags, openCommandStore } from './shared.js';

/** `spinel kv list`: one page of keys. */
export class KvList extends SpinelCommand {
  static override summary = "List the keys of an app's key-value store, a page at a time.";
  static override description =
    'Prints one key per line. When more keys follow, the cursor for the next page is printed on standard error (and as `cursor` with --json); pass it back with --cursor. Use --all to page through everything.';
  static override examples = [
    '<%= config.bin %> kv list',
    '<%= config.bin %> kv list --prefix user: --limit 50',
    '<%= config.bin %> kv list --cursor <cursor from the previous page>',
    '<%= config.bin %> kv list --all --json',
  ];

  static override flags = {
    ...kvStoreFlags,
    prefix: Flags.string({ char: 'p', description: 'Only keys starting with this.', default: '' }),
    limit: Flags.integer({ char: 'l', description: 'Keys per page (at most 10000).', default: 100, min: 1, max: 10_000 }),
    cursor: Flags.string({ char: 'c', description: 'Continue after the page that printed this cursor.' }),
    all: Flags.boolean({ description: 'Follow cursors until every key is listed.', default: false }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(KvList);
    const { store, close } = await openCommandStore(flags);
    const keys: string[] = [];
    let cursor = flags.cursor;
    try {
      do {
        const page = await store.listKeys({ prefix: flags.prefix, limit: flags.limit, cursor });
        if (!this.jsonEnabled() && page.keys.length > 0) process.stdout.write(`${page.keys.join('\n')}\n`);
        keys.push(...page.keys);
        cursor = page.cursor;
      } while (flags.all && cursor !== undefined);
    } finally {
      await close();
    }
    if (!this.jsonEnabled() && cursor !== undefined) process.stderr.write(`More keys follow; next page: --cursor ${cursor}\n`);
    return { store: flags.store, keys, cursor: cursor ?? null };
  }
}
