/**
 * A worker thread's entry: the job protocol's worker side (pool/job-protocol.ts). It builds the
 * worker's host from what the executor sent (guest-host.ts), keeps each component's instances
 * (component-instances.ts), and runs one job at a time: a wasi:http request or a WAGI run.
 * Everything the guest waits on (its request body, capability calls) comes over the worker's one
 * blocking channel.
 */
import { parentPort } from 'node:worker_threads';
import { ChannelBodySource } from '../channel/body-source.js';
import { createSyncBridge, type SyncBridge } from '../channel/sync-bridge.js';
import type { WagiInvocation, WagiResult } from '../pool/executor-types.js';
import type { FromWorker, HttpJobMessage, InitMessage, LogBatch, ToWorker, WagiJobMessage } from '../pool/job-protocol.js';
import type { PreparedComponent } from '../prepare/prepare-component.js';
import { createComponentInstances, type ComponentInstances } from './component-instances.js';
import type { GlueInstantiate } from './glue-template.js';
import { createHostRegistry } from './guest-host.js';
import { GuestExit, type HostRegistry, type InstanceContext } from './host-registry.js';
import { ResponseWriter } from './response-writer.js';
import { IncomingRequest, ResponseOutparam } from './wasi/http.js';
import { resolveMounts } from './wasi/filesystem.js';
import { MemorySource, type Blocker, type ByteSink } from './wasi/io.js';

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
  prepared: PreparedComponent;
  ctx: InstanceContext;
  /** wasi:http components only. */
  instances: ComponentInstances | undefined;
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

async function init(msg: InitMessage): Promise<void> {
  channel = createSyncBridge(msg.channel, { beforeWait: () => current?.flush() });
  blocker = { wait: (ms) => channel.wait(ms) };
  logs = new Logs(msg.keepLogs);
  // Capabilities are loaded only when the executor has them (they bring SQLite and their clients).
  registry = await createHostRegistry(msg.capabilities, channel, blocker);
  for (const prepared of msg.components) {
    const ctx: InstanceContext = {
      componentId: prepared.id,
      env: prepared.env,
      mounts: resolveMounts(prepared.mounts),
      stdout: logs.sink(prepared.id, 'stdout'),
      stderr: logs.sink(prepared.id, 'stderr'),
      blocker,
    };
    let instances: ComponentInstances | undefined;
    if (prepared.glueUrl !== undefined) {
      const glue = (await import(prepared.glueUrl)) as { instantiate: GlueInstantiate };
      instances = createComponentInstances({
        instantiate: glue.instantiate,
        getCoreModule: (name) => {
          const module = prepared.modules[name];
          if (module === undefined) throw new Error(`missing core module ${name}`);
          return module;
        },
        imports: () => registry.buildImports(prepared.imports, ctx),
        reset: prepared.reset,
        instanceReuse: msg.instanceReuse,
        templateGenerations: msg.templateGenerations,
      });
    }
    components.set(prepared.id, { prepared, ctx, instances });
  }
  ready = true;
  send({ type: 'ready' });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function fail(job: number, code: 'RUNTIME_GUEST_TRAP' | 'RUNTIME_NO_RESPONSE' | 'RUNTIME_UNKNOWN_COMPONENT' | 'RUNTIME_WAGI_UNAVAILABLE', message: string): void {
  const batch = logs.take();
  send({ type: 'error', job, code, message, ...(batch === undefined ? {} : { logs: batch }) });
}

function runHttp(msg: HttpJobMessage): void {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  if (loaded?.instances === undefined) {
    fail(job, 'RUNTIME_UNKNOWN_COMPONENT', `no component ${msg.componentId}`);
    return;
  }
  const { instances, ctx } = loaded;
  const response = new ResponseWriter(job, send, () => logs.take());
  const body = msg.body ? new ChannelBodySource(channel, job) : new MemorySource(EMPTY);
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
    // After a fault the glue's own state is suspect: rebuild it for the next request.
    instances.discard();
    if (!(err instanceof GuestExit && err.status === 0 && response.started)) trapped = err;
  } finally {
    current = undefined;
    if (body instanceof ChannelBodySource) body.dispose();
  }
  if (trapped !== undefined) {
    fail(job, 'RUNTIME_GUEST_TRAP', errorText(trapped));
    return;
  }
  if (!response.started) {
    const why = response.failed === undefined ? 'the guest returned without setting a response' : `the guest reported error ${response.failed.tag}`;
    fail(job, 'RUNTIME_NO_RESPONSE', why);
    return;
  }
  // A guest that returns with its body open has the body ended for it.
  response.end();
  instances.release();
}

type RunWagi = (module: WebAssembly.Module, invocation: WagiInvocation) => WagiResult;
let runWagiFn: RunWagi | undefined;

async function runWagiJob(msg: WagiJobMessage): Promise<void> {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  const module = loaded?.prepared.modules['module'];
  if (loaded === undefined || module === undefined) {
    fail(job, 'RUNTIME_UNKNOWN_COMPONENT', `no WAGI component ${msg.componentId}`);
    return;
  }
  if (runWagiFn === undefined) {
    try {
      const mod = (await import(new URL('./wagi/run-wagi.js', import.meta.url).href)) as { runWagi: RunWagi };
      runWagiFn = mod.runWagi;
    } catch (err) {
      fail(job, 'RUNTIME_WAGI_UNAVAILABLE', errorText(err));
      return;
    }
  }
  try {
    // The module reads only the component's own mounts, as prepared at load.
    const preopens = loaded.prepared.mounts.map((m): [string, string] => [m.guestPath, m.hostPath]);
    const result = runWagiFn(module, { ...msg.request, preopens });
    const batch = logs.take();
    send({ type: 'wagi-result', job, result, ...(batch === undefined ? {} : { logs: batch }) });
  } catch (err) {
    fail(job, 'RUNTIME_GUEST_TRAP', errorText(err));
  }
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
  if (msg.type === 'init') void init(msg);
  else if (msg.type === 'http') runHttp(msg);
  else if (msg.type === 'close') close();
  else void runWagiJob(msg);
});
