import { Args } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { kvStoreFlags, openCommandStore } from './shared.js';

/** `spinel kv delete KEY`: remove a key. */
export class KvDelete extends SpinelCommand {
  static override summary = "Delete a key from an app's key-value store.";
  static override description = 'Deleting a key that does not exist is not an error (as in Spin); the output says whether it existed.';
  static override examples = ['<%= config.bin %> kv delete greeting', '<%= config.bin %> kv delete session:42 --store sessions'];

  static override args = { key: Args.string({ description: 'The key.', required: true }) };
  static override flags = { ...kvStoreFlags };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvDelete);
    const { store, close } = await openCommandStore(flags);
    let existed: boolean;
    try {
      existed = await store.exists(args.key);
      await store.delete(args.key);
    } finally {
      await close();
    }
    if (!this.jsonEnabled()) {
      process.stderr.write(existed ? `Deleted ${JSON.stringify(args.key)} from store "${flags.store}"\n` : `No key ${JSON.stringify(args.key)} in store "${flags.store}"; nothing to delete\n`);
    }
    return { store: flags.store, key: args.key, existed };
  }
}
