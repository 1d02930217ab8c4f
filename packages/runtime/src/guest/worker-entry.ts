/**
 * A worker thread's entry: the job protocol's worker side (pool/job-protocol.ts). It builds the
 * worker's host from what the executor sent (guest-host.ts), keeps each component's instances
 * (component-instances.ts), and runs one job at a time: a wasi:http request, a request to Spin's
 * own handler shape (`fermyon:spin/inbound-http`, a Spin 1 module), a Redis message or a WAGI run.
 * Everything the guest waits on (its request body, capability calls) comes over the worker's one
 * blocking channel.
 */
import { parentPort } from 'node:worker_threads';
import { ChannelBodySource } from '../channel/body-source.js';
import { releaseAbandonedLanes } from '../channel/socket-lane.js';
import { createSyncBridge, type SyncBridge } from '../channel/sync-bridge.js';
import type { WagiInvocation, WagiResult } from '../pool/executor-types.js';
import type { FromWorker, HttpJobMessage, InitMessage, LogBatch, RedisJobMessage, ServeMessage, ToWorker, WagiJobMessage, WorkerComponent, WorkerGlue } from '../pool/job-protocol.js';
import type * as ServeHttpModule from './serve-http.js';
import type { ServingWorker } from './serve-http.js';
import { createComponentInstances, type ComponentInstances } from './component-instances.js';
import { loadGlue } from './glue-loader.js';
import { createHostRegistry } from './guest-host.js';
import { GuestExit, type HostRegistry, type InstanceContext } from './host-registry.js';
import { ResponseWriter } from './response-writer.js';
import { callInboundHttp, callInboundRedis, pathAndQuery, SPIN_METHODS, type SpinInboundResponse } from './spin/inbound-handlers.js';
import { experimentalHttpImports } from './spin1/experimental-http.js';
import { GuestMemory } from './spin1/guest-memory.js';
import type { Spin1Request, Spin1Response } from './spin1/http-types.js';
import { instantiateSpin1Module, type Spin1Instance } from './spin1/spin1-module.js';
import type { WagiExtraImports } from './wagi/run-wagi.js';
import { IncomingRequest, ResponseOutparam } from './wasi/http.js';
import { resolveMounts } from './wasi/filesystem.js';
import { MemorySource, type Blocker, type ByteSink, type ByteSource } from './wasi/io.js';
import { wasiRcImportObjects } from './wasi/rc-versions.js';
import { counterAdder, type CounterAdd } from '../worker-counters.js';

// jco's glue reads process.env.JCO_DEBUG on every host call. The worker's environment is empty
// (see the pool's startWorker); a plain object reads several times faster than Node's env object.
Object.defineProperty(process, 'env', { value: {}, configurable: true, writable: true, enumerable: true });

const port = parentPort;
if (port === null) throw new Error('the engine worker must run in a worker thread');

function send(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port?.postMessage(message, transfer);
}

/** Past this much held output a guest's logs are sent before its job ends. */
const LOG_FLUSH_BYTES = 64 * 1024;

/** Guest stdout/stderr of the whole worker, sent along with job results (never a message of its own per request). */
class Logs {
  private batch: LogBatch = [];
  private size = 0;
  readonly keep: boolean;
  constructor(keep: boolean) {
    this.keep = keep;
  }
  sink(componentId: string, stream: 'stdout' | 'stderr'): ByteSink {
    if (!this.keep) return { write: () => undefined };
    return {
      write: (bytes) => {
        this.batch.push([componentId, stream, bytes]);
        this.size += bytes.length;
        if (this.size >= LOG_FLUSH_BYTES) send({ type: 'log', logs: this.take() ?? [] });
      },
    };
  }
  /** What was written since the last take (undefined when nothing was). */
  take(): LogBatch | undefined {
    if (this.size === 0 && this.batch.length === 0) return undefined;
    const out = this.batch;
    this.batch = [];
    this.size = 0;
    return out;
  }
}

interface LoadedComponent {
  prepared: WorkerComponent;
  /** Its counter in the pool's instance counts. */
  index: number;
  ctx: InstanceContext;
  /** Components only. */
  instances: ComponentInstances | undefined;
  /** The component's host interfaces by import key, built once (for Spin 1 and WAGI modules, which take them one by one). */
  hostImports: Map<string, Record<string, unknown> | undefined>;
}

let channel: SyncBridge;
let blocker: Blocker;
let registry: HostRegistry;
/** Set once `init` has built the channel and registry. */
let ready = false;
let logs: Logs;
/** The response of the job running now: flushed before the worker blocks. */
let current: ResponseWriter | undefined;
const components = new Map<string, LoadedComponent>();
const EMPTY = new Uint8Array(0);
let countInstance: CounterAdd = () => undefined;

async function init(msg: InitMessage): Promise<void> {
  channel = createSyncBridge(msg.channel, { beforeWait: () => current?.flush() });
  blocker = { wait: (ms) => channel.wait(ms) };
  logs = new Logs(msg.keepLogs);
  // Capabilities are loaded only when the executor has them (they bring SQLite and their clients).
  registry = await createHostRegistry(msg.capabilities, channel, blocker);
  countInstance = counterAdder(msg.instanceCounts);
  for (const [index, prepared] of msg.components.entries()) {
    const ctx: InstanceContext = {
      componentId: prepared.id,
      env: prepared.env,
      mounts: resolveMounts(prepared.mounts),
      stdout: logs.sink(prepared.id, 'stdout'),
      stderr: logs.sink(prepared.id, 'stderr'),
      blocker,
    };
    let instances: ComponentInstances | undefined;
    if (prepared.glue !== undefined) {
      const glue = await loadGlue(glueOf(prepared.id, prepared.glue));
      instances = createComponentInstances({
        instantiate: glue.instantiate,
        getCoreModule: (name) => {
          const module = prepared.modules[name];
          if (module === undefined) throw new Error(`missing core module ${name}`);
          return module;
        },
        imports: () => componentImports(prepared, ctx),
        reset: prepared.reset,
        instanceReuse: msg.instanceReuse,
        templateGenerations: msg.templateGenerations,
        onInstance: () => countInstance(index),
      });
    }
    components.set(prepared.id, { prepared, ctx, instances, hostImports: new Map(), index });
  }
  ready = true;
  send({ type: 'ready' });
  // The first instance (jco's glue run, the core instances) is made while the first request is on
  // its way (the listener starts once a worker is ready), when the worker holds one component with
  // glue: with more, making one of each ahead would hold memory for guests that may never run.
  const glued = [...components.values()].filter((c) => c.instances !== undefined);
  if (glued.length === 1) glued[0]?.instances?.prepare();
}

/** The glue in the form the loader takes (the pool posts only one of script and URL). */
function glueOf(id: string, glue: WorkerGlue): Parameters<typeof loadGlue>[0] {
  return 'script' in glue ? { id, glueUrl: undefined, glueScript: glue.script } : { id, glueUrl: glue.url };
}

/** A component's import objects: the host's, with the shapes of the WASI release candidates it was built against. */
function componentImports(prepared: WorkerComponent, ctx: InstanceContext): Record<string, Record<string, unknown>> {
  const imports = registry.buildImports(prepared.imports, ctx);
  if (prepared.wasiRc === undefined) return imports;
  const rcs = new Map(prepared.wasiRc);
  const base = (key: string): Record<string, unknown> | undefined => imports[key] ?? registry.buildImports([key], ctx)[key];
  return { ...imports, ...wasiRcImportObjects(rcs, base) };
}

/** One host interface of a component by import key (`fermyon:spin/http`), built once per component. */
function hostInterface(loaded: LoadedComponent, key: string): Record<string, unknown> | undefined {
  if (!loaded.hostImports.has(key)) loaded.hostImports.set(key, registry.buildImports([key], loaded.ctx)[key]);
  return loaded.hostImports.get(key);
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * What to add to a trap's message when the guest's memory had come close to its limit: past the
 * limit `memory.grow` fails inside the guest, which most guests answer by trapping, so the trap
 * itself does not say memory ran out (Spin logs "instance memory limit exceeded" beside it).
 */
function memoryLimitNote(bytes: number, limit: number | undefined): string | undefined {
  if (limit === undefined || bytes < limit - Math.max(limit / 16, 65_536)) return undefined;
  return `(its memory had grown to ${bytes} bytes, near the instance memory limit of ${limit} bytes, past which memory.grow fails: if it needs more, raise max_instance_memory in the runtime config or --max-instance-memory)`;
}

/** Where a job's results go: the main thread (`send`), or the serving worker's own trigger (serve-http.ts). */
type Post = (message: FromWorker, transfer?: ArrayBuffer[]) => void;

function fail(job: number, code: 'RUNTIME_GUEST_TRAP' | 'RUNTIME_HANDLER_ERROR' | 'RUNTIME_NO_RESPONSE' | 'RUNTIME_UNKNOWN_COMPONENT' | 'RUNTIME_WAGI_UNAVAILABLE', message: string, post: Post = send): void {
  const batch = logs.take();
  post({ type: 'error', job, code, message, ...(batch === undefined ? {} : { logs: batch }) });
}

/** `msg`'s body: `given` (a serving worker read it whole first), else pulled over the channel when it has one. */
function bodyOf(msg: HttpJobMessage, given: ByteSource | undefined): ByteSource | undefined {
  if (given !== undefined) return given;
  return msg.body ? new ChannelBodySource(channel, msg.job) : undefined;
}

function runHttp(msg: HttpJobMessage, post: Post = send, given?: ByteSource): void {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  if (loaded !== undefined && (loaded.prepared.kind === 'spin1' || loaded.prepared.http?.type === 'spin-http')) {
    runSpinHttp(msg, loaded, post, given);
    return;
  }
  if (loaded?.instances === undefined) {
    fail(job, 'RUNTIME_UNKNOWN_COMPONENT', `no component ${msg.componentId}`, post);
    return;
  }
  const { instances, ctx } = loaded;
  const response = new ResponseWriter(job, post, () => logs.take());
  const body = bodyOf(msg, given) ?? new MemorySource(EMPTY);
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < msg.headers.length; i += 2) headers.push([msg.headers[i] as string, msg.headers[i + 1] as string]);
  current = response;
  let trapped: unknown;
  try {
    const handler = instances.nextHandler();
    registry.beginRequest(ctx);
    try {
      handler.handle(new IncomingRequest({ method: msg.method, url: msg.url, headers }, body, blocker), new ResponseOutparam(response));
    } finally {
      registry.endRequest(ctx);
    }
  } catch (err) {
    const memoryNote = memoryLimitNote(instances.memoryBytes(), loaded.prepared.memoryLimit);
    // After a fault the glue's own state is suspect: rebuild it for the next request.
    instances.discard();
    if (!(err instanceof GuestExit && err.status === 0 && response.started)) trapped = memoryNote === undefined ? err : `${errorText(err)} ${memoryNote}`;
  } finally {
    current = undefined;
    if (body instanceof ChannelBodySource) body.dispose();
  }
  if (trapped !== undefined) {
    fail(job, 'RUNTIME_GUEST_TRAP', errorText(trapped), post);
    return;
  }
  if (!response.started) {
    const why = response.failed === undefined ? 'the guest returned without setting a response' : `the guest reported error ${response.failed.tag}`;
    fail(job, 'RUNTIME_NO_RESPONSE', why, post);
    return;
  }
  // A guest that returns with its body open has the body ended for it.
  response.end();
  instances.release();
}

/** Reads a request body to its end (Spin's own handlers take it whole). */
function readAll(source: ByteSource): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = source.read(1 << 20);
    if (chunk === undefined) break;
    if (chunk.length === 0) source.waitReadable();
    else chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : new Uint8Array(Buffer.concat(chunks));
}

/**
 * Calls `call` with the exports of a fresh instance of the component, then releases the instance
 * for reset, or discards it when the call threw (its glue state is then suspect).
 */
function withFreshExports<T>(loaded: LoadedComponent, call: (exports: ReturnType<ComponentInstances['nextExports']>) => T): T {
  const instances = loaded.instances;
  if (instances === undefined) throw new Error(`component ${loaded.prepared.id} has no glue`);
  try {
    const result = call(instances.nextExports());
    instances.release();
    return result;
  } catch (err) {
    instances.discard();
    throw err;
  }
}

/** A fresh instance of a Spin 1 module; its preview1 output goes to the component's logs. */
function spin1Instance(loaded: LoadedComponent): Spin1Instance {
  const module = loaded.prepared.modules['module'];
  if (module === undefined) throw new Error(`component ${loaded.prepared.id} has no module`);
  const instance = instantiateSpin1Module(module, {
    env: loaded.prepared.env,
    preopens: loaded.prepared.mounts.map((m): [string, string] => [m.guestPath, m.hostPath]),
    host: (key) => hostInterface(loaded, key),
    output: { stdout: (b) => loaded.ctx.stdout.write(b), stderr: (b) => loaded.ctx.stderr.write(b) },
  });
  // Counted as a component's instances are (`stats().instances`).
  countInstance(loaded.index);
  return instance;
}

/**
 * A request to Spin's own handler shape: a component's `fermyon:spin/inbound-http` or a Spin 1
 * module's `handle-http-request`. The body is read whole first (pulled over the channel) and the
 * response sent as one message, as Spin's executor does; a method Spin cannot pass is answered
 * 405 without running the guest.
 */
function runSpinHttp(msg: HttpJobMessage, loaded: LoadedComponent, post: Post, given: ByteSource | undefined): void {
  const { job } = msg;
  const { prepared, ctx } = loaded;
  const source = bodyOf(msg, given);
  let response: SpinInboundResponse | undefined;
  try {
    const body = source === undefined ? EMPTY : readAll(source);
    if (!SPIN_METHODS.has(msg.method.toLowerCase())) {
      response = { status: 405, headers: [], body: EMPTY };
    } else {
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < msg.headers.length; i += 2) headers.push([msg.headers[i] as string, msg.headers[i + 1] as string]);
      registry.beginRequest(ctx);
      try {
        if (prepared.kind === 'spin1') {
          const answer = spin1Instance(loaded).handleHttp({ method: msg.method.toLowerCase(), uri: pathAndQuery(msg.url), headers, body });
          if (answer.status < 100 || answer.status > 600) throw new Error(`the module answered HTTP status ${answer.status}, outside 100..=600`);
          response = { status: answer.status, headers: answer.headers ?? [], body: answer.body ?? EMPTY };
        } else {
          response = withFreshExports(loaded, (exports) => callInboundHttp(exports, { method: msg.method, url: msg.url, headers, body }));
        }
      } finally {
        registry.endRequest(ctx);
      }
    }
  } catch (err) {
    fail(job, 'RUNTIME_GUEST_TRAP', errorText(err), post);
    return;
  } finally {
    if (source instanceof ChannelBodySource) source.dispose();
  }
  if (response === undefined) {
    fail(job, 'RUNTIME_NO_RESPONSE', 'the guest returned without a response', post);
    return;
  }
  const flat: string[] = [];
  for (const [name, value] of response.headers) flat.push(name, value);
  const bytes = response.body.length === 0 ? undefined : response.body.slice();
  const batch = logs.take();
  post({ type: 'response', job, status: response.status, headers: flat, body: bytes, end: true, ...(batch === undefined ? {} : { logs: batch }) }, bytes === undefined ? undefined : [bytes.buffer as ArrayBuffer]);
}

/** One Redis message in a fresh instance: `fermyon:spin/inbound-redis` or a Spin 1 module's `handle-redis-message`. */
function runRedis(msg: RedisJobMessage): void {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  if (loaded === undefined || loaded.prepared.redis !== true) {
    fail(job, 'RUNTIME_UNKNOWN_COMPONENT', `no Redis component ${msg.componentId}`);
    return;
  }
  const { prepared, ctx } = loaded;
  try {
    registry.beginRequest(ctx);
    try {
      if (prepared.kind === 'spin1') spin1Instance(loaded).handleRedis(msg.payload);
      else {
        withFreshExports(loaded, (exports) => callInboundRedis(exports, msg.payload));
      }
    } finally {
      registry.endRequest(ctx);
    }
  } catch (err) {
    const returned = err instanceof Error && (err.name === 'SpinHandlerError' || err.name === 'Spin1HandlerError');
    fail(job, returned ? 'RUNTIME_HANDLER_ERROR' : 'RUNTIME_GUEST_TRAP', errorText(err));
    return;
  }
  const batch = logs.take();
  send({ type: 'end', job, ...(batch === undefined ? {} : { logs: batch }) });
}

type RunWagi = (module: WebAssembly.Module, invocation: WagiInvocation, extra?: WagiExtraImports) => WagiResult;
let runWagiFn: RunWagi | undefined;

async function runWagiJob(msg: WagiJobMessage, post: Post = send, guard: <T>(run: () => T) => T = (run) => run()): Promise<void> {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  const module = loaded?.prepared.modules['module'];
  if (loaded === undefined || module === undefined) {
    fail(job, 'RUNTIME_UNKNOWN_COMPONENT', `no WAGI component ${msg.componentId}`, post);
    return;
  }
  if (runWagiFn === undefined) {
    try {
      const mod = (await import(new URL('./wagi/run-wagi.js', import.meta.url).href)) as { runWagi: RunWagi };
      runWagiFn = mod.runWagi;
    } catch (err) {
      fail(job, 'RUNTIME_WAGI_UNAVAILABLE', errorText(err), post);
      return;
    }
  }
  try {
    // The module reads only the component's own mounts, as prepared at load.
    const preopens = loaded.prepared.mounts.map((m): [string, string] => [m.guestPath, m.hostPath]);
    countInstance(loaded.index);
    // Spin 0.x WAGI modules called out with wasi_experimental_http, under the component's allow-list.
    const spinHttp = hostInterface(loaded, 'fermyon:spin/http');
    const sendRequest = spinHttp?.['sendRequest'] as ((r: Spin1Request) => Spin1Response) | undefined;
    const extra: WagiExtraImports = {
      wasi_experimental_http: (memory) => experimentalHttpImports({ memory: () => new GuestMemory(memory(), undefined), sendRequest: sendRequest?.bind(spinHttp) }) as WebAssembly.ModuleImports,
    };
    registry.beginRequest(loaded.ctx);
    let result: WagiResult;
    try {
      const run = runWagiFn;
      result = guard(() => run(module, { ...msg.request, preopens }, extra));
    } finally {
      registry.endRequest(loaded.ctx);
    }
    const batch = logs.take();
    post({ type: 'wagi-result', job, result, ...(batch === undefined ? {} : { logs: batch }) });
  } catch (err) {
    if (isTimeout(err)) throw err;
    fail(job, 'RUNTIME_GUEST_TRAP', errorText(err), post);
  }
}

function isTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/**
 * After a guest was stopped at its deadline inside this thread (serve-http.ts): the stop skipped
 * every catch and finally of the run, so what they do is done here — the instance is discarded
 * (its glue state is suspect), the capabilities end the request, nothing is flushed any more.
 */
function abandon(componentId: string): void {
  current = undefined;
  releaseAbandonedLanes();
  const loaded = components.get(componentId);
  if (loaded === undefined) return;
  loaded.instances?.discard();
  registry.endRequest(loaded.ctx);
}

let serving: Promise<ServingWorker> | undefined;
/** The worker's `init`, which a `serve` waits for (the guests' host must be built before a request comes in). */
let initialised: Promise<void> | undefined;

/** Serve HTTP from this thread (the `serveFromWorkers` mode): serve-http.ts runs the trigger, this file the guests. */
function serve(msg: ServeMessage): void {
  const url = new URL('./serve-http.js', import.meta.url);
  // Running from TypeScript sources (tests): the sibling is a .ts file.
  const href = import.meta.url.endsWith('.ts') ? url.href.replace(/\.js$/, '.ts') : url.href;
  serving = Promise.all([import(href) as Promise<typeof ServeHttpModule>, initialised]).then(([mod]) =>
    mod.startServing(msg, {
      runHttp: (job, post, body) => runHttp(job, post, body),
      runWagi: (job, post, guard) => runWagiJob(job, post, guard),
      abandon,
      send,
    }),
  );
  serving.catch((err: unknown) => send({ type: 'serve-failed', code: (err as { code?: string }).code ?? 'RUNTIME_HTTP_LISTEN_FAILED', message: (err as Error).message }));
}

/**
 * The pool is closing and this worker is idle: the capabilities close what they hold (SQLite
 * files, clients) before the thread ends, rather than native handles being torn down mid-use.
 */
function close(): void {
  try {
    if (ready) registry.close();
  } finally {
    if (ready) channel.close();
    process.exit(0);
  }
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') initialised = init(msg);
  else if (msg.type === 'http') runHttp(msg);
  else if (msg.type === 'redis') runRedis(msg);
  else if (msg.type === 'close') close();
  else if (msg.type === 'serve') serve(msg);
  else if (msg.type === 'drain') void serving?.then((s) => s.drain(msg.timeoutMs)).then(() => send({ type: 'drained' }));
  else void runWagiJob(msg);
});
