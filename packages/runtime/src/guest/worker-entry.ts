/**
 * A worker thread's entry: the job protocol's worker side (pool/job-protocol.ts). It builds the
 * worker's host from what the executor sent (guest-host.ts), keeps each component's instances
 * (component-instances.ts), and runs one job at a time: a wasi:http request or a WAGI run.
 */
import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { BodyReader } from '../channel/body-reader.js';
import type { WagiInvocation, WagiResult } from '../pool/executor-types.js';
import type { FromWorker, HttpJobMessage, InitMessage, ToWorker, WagiJobMessage } from '../pool/job-protocol.js';
import type { PreparedComponent } from '../prepare/prepare-component.js';
import { createComponentInstances, type ComponentInstances } from './component-instances.js';
import type { GlueInstantiate } from './glue-template.js';
import { createGuestHost, wasiOnlyHost, type GuestHost } from './guest-host.js';
import { GuestExit, type InstanceContext } from './host-registry.js';
import { IncomingRequest, ResponseOutparam, type HttpErrorCode, type ResponseSink } from './wasi/http.js';
import { resolveMounts } from './wasi/filesystem.js';
import type { ByteSink } from './wasi/io.js';

// jco's glue reads process.env.JCO_DEBUG on every host call. The worker's environment is empty
// (see the pool's startWorker); a plain object reads several times faster than Node's env object.
Object.defineProperty(process, 'env', { value: {}, configurable: true, writable: true, enumerable: true });

const port = parentPort;
if (port === null) throw new Error('the engine worker must run in a worker thread');

function send(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port?.postMessage(message, transfer);
}

const LOG_FLUSH_BYTES = 64 * 1024;

/** Per-component stdout/stderr, shipped to the main thread in batches (never a file per request). */
class LogBuffer implements ByteSink {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private readonly componentId: string;
  private readonly stream: 'stdout' | 'stderr';
  constructor(componentId: string, stream: 'stdout' | 'stderr') {
    this.componentId = componentId;
    this.stream = stream;
  }
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
    if (this.size >= LOG_FLUSH_BYTES) this.flush();
  }
  flush(): void {
    if (this.size === 0) return;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [];
    this.size = 0;
    send({ type: 'log', componentId: this.componentId, stream: this.stream, bytes: out }, [out.buffer]);
  }
}

interface LoadedComponent {
  prepared: PreparedComponent;
  ctx: InstanceContext;
  /** wasi:http components only. */
  instances: ComponentInstances | undefined;
}

let bodies: BodyReader;
let host: GuestHost;
const components = new Map<string, LoadedComponent>();
const logs: LogBuffer[] = [];

async function init(msg: InitMessage): Promise<void> {
  bodies = new BodyReader(msg.bodyPort as unknown as MessagePort, msg.signal);
  // Capabilities are loaded only when the executor has them (they bring SQLite and the channel).
  host = msg.capabilities === undefined ? wasiOnlyHost() : await createGuestHost(msg.capabilities);
  for (const prepared of msg.components) {
    const stdout = new LogBuffer(prepared.id, 'stdout');
    const stderr = new LogBuffer(prepared.id, 'stderr');
    logs.push(stdout, stderr);
    const ctx: InstanceContext = { componentId: prepared.id, env: prepared.env, mounts: resolveMounts(prepared.mounts), stdout, stderr, blocker: bodies.blocker };
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
        imports: () => host.registry.buildImports(prepared.imports, ctx),
        reset: prepared.reset,
        instanceReuse: msg.instanceReuse,
        templateGenerations: msg.templateGenerations,
      });
    }
    components.set(prepared.id, { prepared, ctx, instances });
  }
  send({ type: 'ready' });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function runHttp(msg: HttpJobMessage): void {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  if (loaded?.instances === undefined) {
    send({ type: 'error', job, code: 'RUNTIME_UNKNOWN_COMPONENT', message: `no component ${msg.componentId}` });
    return;
  }
  const { instances, ctx } = loaded;
  let headSent = false;
  let ended = false;
  let failed: HttpErrorCode | undefined;
  const sink: ResponseSink = {
    head(status, headers) {
      headSent = true;
      send({ type: 'head', job, status, headers });
    },
    chunk(bytes) {
      send({ type: 'chunk', job, bytes }, [bytes.buffer as ArrayBuffer]);
    },
    end() {
      if (!ended) {
        ended = true;
        // The guest's output goes first: once the response has ended, the pool may stop this worker.
        flushLogs();
        send({ type: 'end', job });
      }
    },
    fail(error) {
      failed = error;
    },
  };
  const body = bodies.source(job);
  try {
    const handler = instances.nextHandler();
    host.registry.beginRequest(ctx);
    try {
      handler.handle(new IncomingRequest({ method: msg.method, url: msg.url, headers: msg.headers }, body, bodies.blocker), new ResponseOutparam(sink));
    } finally {
      host.registry.endRequest(ctx);
    }
  } catch (err) {
    // After a fault the glue's own state is suspect: rebuild it for the next request.
    instances.discard();
    if (!(err instanceof GuestExit && err.status === 0 && headSent)) {
      flushLogs();
      send({ type: 'error', job, code: 'RUNTIME_GUEST_TRAP', message: errorText(err) });
      return;
    }
  }
  flushLogs();
  if (!headSent) {
    const why = failed === undefined ? 'the guest returned without setting a response' : `the guest reported error ${failed.tag}`;
    send({ type: 'error', job, code: 'RUNTIME_NO_RESPONSE', message: why });
    return;
  }
  sink.end();
  instances.release();
}

type RunWagi = (module: WebAssembly.Module, invocation: WagiInvocation) => WagiResult;
let runWagiFn: RunWagi | undefined;

async function runWagiJob(msg: WagiJobMessage): Promise<void> {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  const module = loaded?.prepared.modules['module'];
  if (loaded === undefined || module === undefined) {
    send({ type: 'error', job, code: 'RUNTIME_UNKNOWN_COMPONENT', message: `no WAGI component ${msg.componentId}` });
    return;
  }
  if (runWagiFn === undefined) {
    try {
      const mod = (await import(new URL('./wagi/run-wagi.js', import.meta.url).href)) as { runWagi: RunWagi };
      runWagiFn = mod.runWagi;
    } catch (err) {
      send({ type: 'error', job, code: 'RUNTIME_WAGI_UNAVAILABLE', message: errorText(err) });
      return;
    }
  }
  try {
    // The module reads only the component's own mounts, as prepared at load.
    const preopens = loaded.prepared.mounts.map((m): [string, string] => [m.guestPath, m.hostPath]);
    const result = runWagiFn(module, { ...msg.request, preopens });
    send({ type: 'wagi-result', job, result });
  } catch (err) {
    send({ type: 'error', job, code: 'RUNTIME_GUEST_TRAP', message: errorText(err) });
  }
}

function flushLogs(): void {
  for (const log of logs) log.flush();
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') void init(msg);
  else if (msg.type === 'http') runHttp(msg);
  else void runWagiJob(msg);
});
