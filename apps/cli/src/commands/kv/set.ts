import { readFile } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { SpinelCommand } from '../../base-command.js';
import { KvCommandError, decodeInput, kvStoreFlags, openCommandStore } from './shared.js';

/** `spinel kv set KEY [VALUE]`: write a value. */
export class KvSet extends SpinelCommand {
  static override summary = "Set a key in an app's key-value store.";
  static override description = 'The value is the VALUE argument (UTF-8, or decoded with --encoding) or the bytes of --value-file. An existing value is replaced.';
  static override examples = [
    '<%= config.bin %> kv set greeting "hello world"',
    '<%= config.bin %> kv set counter 0100000000000000 --encoding hex',
    '<%= config.bin %> kv set image --value-file ./logo.png --store assets',
  ];

  static override args = {
    key: Args.string({ description: 'The key.', required: true }),
    value: Args.string({ description: 'The value (omit when using --value-file).' }),
  };
  static override flags = {
    ...kvStoreFlags,
    encoding: Flags.string({ char: 'e', description: 'How VALUE is written.', options: ['utf8', 'base64', 'hex'], default: 'utf8' }),
    'value-file': Flags.file({ description: 'Read the value from this file (any bytes).', exists: true }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvSet);
    if ((args.value === undefined) === (flags['value-file'] === undefined)) {
      throw new KvCommandError('KV_BAD_VALUE', 'give the value either as the VALUE argument or with --value-file, not both or neither');
    }
    const value = flags['value-file'] !== undefined ? await readFile(flags['value-file']) : decodeInput(args.value ?? '', flags.encoding);
    const { store, close } = await openCommandStore(flags);
    try {
      await store.set(args.key, value);
    } finally {
      await close();
    }
    if (!this.jsonEnabled()) process.stderr.write(`Set ${JSON.stringify(args.key)} in store "${flags.store}" (${value.byteLength} bytes)\n`);
    return { store: flags.store, key: args.key, size: value.byteLength };
  }
}
