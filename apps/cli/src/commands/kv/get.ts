import { Args, Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { KvCommandError, kvStoreFlags, openCommandStore, utf8OrUndefined } from './shared.js';

/** `spinel kv get KEY`: print a value. */
export class KvGet extends SpinelCommand {
  static override summary = "Print the value of a key in an app's key-value store.";
  static override description = 'Writes the value to standard output as stored (raw bytes), or encoded with --encoding. A missing key fails with code KV_NOT_FOUND.';
  static override examples = ['<%= config.bin %> kv get greeting', '<%= config.bin %> kv get counter --store cache --encoding hex -f ./my-app'];

  static override args = { key: Args.string({ description: 'The key.', required: true }) };
  static override flags = {
    ...kvStoreFlags,
    encoding: Flags.string({ char: 'e', description: 'How to print the value.', options: ['raw', 'base64', 'hex'], default: 'raw' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvGet);
    const { store, close } = await openCommandStore(flags);
    try {
      const value = await store.get(args.key);
      if (value === undefined) throw new KvCommandError('KV_NOT_FOUND', `no key ${JSON.stringify(args.key)} in store "${flags.store}"`);
      if (!this.jsonEnabled()) {
        const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        if (flags.encoding === 'raw') process.stdout.write(bytes);
        else process.stdout.write(`${bytes.toString(flags.encoding === 'hex' ? 'hex' : 'base64')}\n`);
      }
      return { store: flags.store, key: args.key, size: value.byteLength, text: utf8OrUndefined(value) ?? null, base64: Buffer.from(value).toString('base64') };
    } finally {
      await close();
    }
  }
}
