import { randomBytes, randomFillSync } from 'node:crypto';
import { GuestExit, type HostInterfaceFactory } from '../host-registry.js';
import { filesystemTypesInterface, preopensInterface } from './filesystem.js';
import { deniedOutgoingHandlerInterface, httpTypesInterface } from './http.js';
import { IoError, InputStream, MemorySource, OutputStream, Pollable, poll, type Blocker } from './io.js';

class TerminalInput {}
class TerminalOutput {}

function u64(): bigint {
  return randomBytes(8).readBigUInt64LE();
}

function bytes(len: bigint): Uint8Array {
  const out = new Uint8Array(Number(len > 1_048_576n ? 1_048_576n : len));
  randomFillSync(out);
  return out;
}

function timer(at: bigint, blocker: Blocker): Pollable {
  return new Pollable({ ready: () => process.hrtime.bigint() >= at, readyAt: at }, blocker);
}

/**
 * The base host's WASI 0.2 interfaces, keyed by interface name without version: any
 * `wasi:*@0.2.N` import a component makes links to the one implementation here (the names and
 * versions accepted are in `interface-specs.ts`). A new map per call: each worker's registry
 * owns its own, and capabilities replace entries in theirs only.
 */
export function wasiHostInterfaces(): Map<string, HostInterfaceFactory> {
  return new Map<string, HostInterfaceFactory>([
    ['wasi:io/error', () => ({ Error: IoError })],
    ['wasi:io/poll', () => ({ Pollable, poll })],
    ['wasi:io/streams', () => ({ InputStream, OutputStream })],
    [
      'wasi:clocks/monotonic-clock',
      (ctx) => ({
        now: () => process.hrtime.bigint(),
        resolution: () => 1n,
        subscribeInstant: (when: bigint) => timer(when, ctx.blocker),
        subscribeDuration: (d: bigint) => timer(process.hrtime.bigint() + d, ctx.blocker),
      }),
    ],
    [
      'wasi:clocks/wall-clock',
      () => ({
        now: () => {
          const ms = Date.now();
          return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
        },
        resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
      }),
    ],
    ['wasi:random/random', () => ({ getRandomBytes: bytes, getRandomU64: u64 })],
    ['wasi:random/insecure', () => ({ getInsecureRandomBytes: bytes, getInsecureRandomU64: u64 })],
    ['wasi:random/insecure-seed', () => ({ insecureSeed: (): [bigint, bigint] => [u64(), u64()] })],
    [
      'wasi:cli/environment',
      (ctx) => ({
        getEnvironment: () => ctx.env.map(([k, v]) => [k, v]),
        getArguments: () => [],
        initialCwd: () => undefined,
      }),
    ],
    [
      'wasi:cli/exit',
      () => ({
        exit: (status: { tag: 'ok' | 'err' }) => {
          throw new GuestExit(status.tag === 'ok' ? 0 : 1);
        },
      }),
    ],
    ['wasi:cli/stdin', () => ({ getStdin: () => new InputStream(new MemorySource(new Uint8Array(0))) })],
    ['wasi:cli/stdout', (ctx) => ({ getStdout: () => new OutputStream(ctx.stdout) })],
    ['wasi:cli/stderr', (ctx) => ({ getStderr: () => new OutputStream(ctx.stderr) })],
    ['wasi:cli/terminal-input', () => ({ TerminalInput })],
    ['wasi:cli/terminal-output', () => ({ TerminalOutput })],
    ['wasi:cli/terminal-stdin', () => ({ getTerminalStdin: () => undefined })],
    ['wasi:cli/terminal-stdout', () => ({ getTerminalStdout: () => undefined })],
    ['wasi:cli/terminal-stderr', () => ({ getTerminalStderr: () => undefined })],
    ['wasi:filesystem/types', () => filesystemTypesInterface()],
    ['wasi:filesystem/preopens', (ctx) => preopensInterface(ctx.mounts)],
    ['wasi:http/types', () => httpTypesInterface()],
    ['wasi:http/outgoing-handler', () => deniedOutgoingHandlerInterface()],
  ]);
}
