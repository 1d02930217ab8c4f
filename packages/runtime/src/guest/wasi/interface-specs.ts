import { WASI_0_2, type InterfaceSpec } from '../../prepare/interface-set.js';

/**
 * The WASI 0.2 interfaces the base host serves to every component (implemented in `host.ts`).
 * Kept apart from the implementations so the main thread checks imports without loading them.
 */
export const WASI_INTERFACES: readonly InterfaceSpec[] = [
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:clocks/monotonic-clock',
  'wasi:clocks/wall-clock',
  'wasi:random/random',
  'wasi:random/insecure',
  'wasi:random/insecure-seed',
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:filesystem/types',
  'wasi:filesystem/preopens',
  'wasi:http/types',
  'wasi:http/outgoing-handler',
].map((name) => ({ name, versions: [WASI_0_2] }));
