import { randomBytes, randomFillSync } from 'node:crypto';
import { filesystemTypesInterface, preopensInterface } from './wasi/filesystem.js';
import { deniedOutgoingHandlerInterface, httpTypesInterface } from './wasi/http.js';
import { IoError, InputStream, MemorySource, OutputStream, Pollable, poll, type Blocker, type ByteSink } from './wasi/io.js';

/** Per-instance state the host interfaces are built over. */
export interface InstanceContext {
  componentId: string;
  env: Array<[string, string]>;
  mounts: Array<{ guestPath: string; root: string }>;
  stdout: ByteSink;
  stderr: ByteSink;
  blocker: Blocker;
}

/** Builds one interface's import object for one instance. */
export type HostInterfaceFactory = (ctx: InstanceContext) => Record<string, unknown>;

/** Thrown by wasi:cli/exit: the guest ended itself. */
export class GuestExit extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`guest exited with status ${status}`);
    this.status = status;
  }
}

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
 * The host interfaces, keyed by interface name without version: any `wasi:*@0.2.N` import a
 * component makes links to the one implementation here. Capabilities added later (outbound HTTP,
 * key-value, variables) register here too.
 */
export const HOST_INTERFACES: ReadonlyMap<string, HostInterfaceFactory> = new Map<string, HostInterfaceFactory>([
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

/**
 * State that belongs to one request rather than to an import object (a capability's open store
 * handles, unfinished outbound calls). Import objects are built once per run of jco's glue and
 * kept for many fresh instances and requests (see glue-template.ts), so a factory holds no
 * per-request state; it keeps such state behind a scope the worker begins before the guest
 * handles a request and ends after it returns.
 */
export interface RequestScope {
  begin(ctx: InstanceContext): void;
  end(ctx: InstanceContext): void;
}

const REQUEST_SCOPES = new Set<RequestScope>();

/** Adds a request scope (the capabilities add theirs when installed in a worker); returns its removal. */
export function addRequestScope(scope: RequestScope): () => void {
  REQUEST_SCOPES.add(scope);
  return () => REQUEST_SCOPES.delete(scope);
}

/** Begins a request of the component whose context `ctx` is, in every scope. */
export function beginRequest(ctx: InstanceContext): void {
  for (const scope of REQUEST_SCOPES) scope.begin(ctx);
}

/** Ends the request of `ctx` in every scope (each scope is ended even if another throws). */
export function endRequest(ctx: InstanceContext): void {
  let failure: unknown;
  for (const scope of REQUEST_SCOPES) {
    try {
      scope.end(ctx);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
}

/** `wasi:http/types@0.2.3` → `wasi:http/types`; only WASI 0.2.x versions are interchangeable. */
export function interfaceKey(name: string): string {
  const at = name.indexOf('@');
  return at === -1 ? name : name.slice(0, at);
}

/** Draft WASI interfaces the capabilities serve (Spin accepts these versions too). */
const CAPABILITY_DRAFT_IMPORT = /^wasi:(keyvalue\/(store|batch|atomics)@0\.2\.0-draft2|config\/store@0\.2\.0-draft[\w.-]*)$/;

/** Names a component imports that the host does not provide (versions other than 0.2.x, or the capabilities' drafts, count as missing). */
export function unsupportedImports(imports: readonly string[]): string[] {
  return imports.filter((name) => {
    const at = name.indexOf('@');
    if (at !== -1 && name.startsWith('wasi:') && !/^0\.2\.\d+$/.test(name.slice(at + 1)) && !CAPABILITY_DRAFT_IMPORT.test(name)) return true;
    return !HOST_INTERFACES.has(interfaceKey(name));
  });
}

/** Builds the import object jco's glue takes (keys without versions), for the interfaces a component imports. */
export function buildImports(imports: readonly string[], ctx: InstanceContext): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of imports) {
    const key = interfaceKey(name);
    const factory = HOST_INTERFACES.get(key);
    if (factory !== undefined) out[key] = factory(ctx);
  }
  return out;
}
