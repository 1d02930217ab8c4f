import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import type { KvStore, KvStoreManager } from '@spinel/kv-wit';

/** Flags every `spinel kv` command takes to find the store. */
export const kvStoreFlags = {
  store: Flags.string({ char: 's', description: 'Store label (as listed in key_value_stores).', default: 'default' }),
  from: Flags.string({
    char: 'f',
    aliases: ['file'],
    description: 'The app: its spin.toml or the directory containing it. Default: spin.toml in the current directory or a parent.',
  }),
  'runtime-config-file': Flags.file({ description: 'Runtime config (TOML) defining [key_value_store.<label>] stores and state_dir.' }),
  'state-dir': Flags.string({ description: 'State directory holding sqlite_key_value.db. Default: .spin next to spin.toml.' }),
};

/** A `spinel kv` failure that is not a library error, with a stable code for the error boundary. */
export class KvCommandError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'KvCommandError';
    this.code = code;
  }
}

interface KvStoreFlagValues {
  store: string;
  from?: string | undefined;
  'runtime-config-file'?: string | undefined;
  'state-dir'?: string | undefined;
}

/** Opens the store a `spinel kv` command works on; call `close()` when done. */
export async function openCommandStore(flags: KvStoreFlagValues): Promise<{ store: KvStore; manager: KvStoreManager; close: () => Promise<void> }> {
  const cwd = process.cwd();
  const appDir = findAppDir(cwd, flags.from);
  if (appDir === undefined && flags['state-dir'] === undefined && flags['runtime-config-file'] === undefined) {
    throw new KvCommandError(
      'KV_APP_NOT_FOUND',
      'no spin.toml in the current directory or its parents, so there is no app state dir; pass -f <app>, --state-dir <dir> or --runtime-config-file <file>',
    );
  }
  const kv = await import('@spinel/kv-wit');
  const { manager } = await kv.openAppKvStores({
    cwd,
    appDir,
    stateDir: flags['state-dir'],
    runtimeConfigFile: flags['runtime-config-file'],
  });
  try {
    return { store: manager.store(flags.store), manager, close: () => manager.close() };
  } catch (err) {
    await manager.close();
    throw err;
  }
}

// `-f` is a manifest file or a directory holding spin.toml; without it, look upwards as Spin does.
function findAppDir(cwd: string, from: string | undefined): string | undefined {
  if (from !== undefined) {
    const target = resolve(cwd, from);
    if (!existsSync(target)) throw new KvCommandError('KV_APP_NOT_FOUND', `${JSON.stringify(from)} does not exist; pass a spin.toml or the directory containing it`);
    if (!statSync(target).isDirectory()) return dirname(target);
    if (!existsSync(join(target, 'spin.toml'))) {
      throw new KvCommandError('KV_APP_NOT_FOUND', `no spin.toml in ${JSON.stringify(from)}; pass a spin.toml or the directory containing it`);
    }
    return target;
  }
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'spin.toml'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Decodes a value given on the command line. */
export function decodeInput(text: string, encoding: string): Uint8Array {
  if (encoding === 'base64') return Buffer.from(text, 'base64');
  if (encoding === 'hex') {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new KvCommandError('KV_BAD_VALUE', 'the value is not an even number of hex digits');
    return Buffer.from(text, 'hex');
  }
  return Buffer.from(text, 'utf8');
}

/** The UTF-8 text of a value, or `undefined` when it is not valid UTF-8. */
export function utf8OrUndefined(value: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    return undefined;
  }
}
