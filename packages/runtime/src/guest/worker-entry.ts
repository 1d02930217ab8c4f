import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { WagiInvocation, WagiResult } from '../pool/executor-types.js';
import { IncomingRequest, ResponseOutparam, type HttpErrorCode, type ResponseSink } from './wasi/http.js';
import type { Blocker, ByteSink, ByteSource, PollSource } from './wasi/io.js';
import { GuestExit, beginRequest, buildImports, endRequest, type InstanceContext } from './host-registry.js';
import { resolveMounts } from './wasi/filesystem.js';
import type { BodyMessage, FromWorker, HttpJobMessage, InitMessage, ToWorker, WagiJobMessage } from '../pool/job-protocol.js';
import type { PreparedComponent } from '../prepare/prepare-component.js';
import { GlueTemplate, type GlueInstantiate } from './glue-template.js';

/** Fresh instances served by one glue template before the glue itself is rebuilt (bounds any state the glue accumulates). */
let templateGenerations = 64;

interface HandlerExports {
  handle(request: IncomingRequest, out: ResponseOutparam): void;
}

interface LoadedComponent {
  prepared: PreparedComponent;
  instantiate: GlueInstantiate | undefined;
  ctx: InstanceContext;
  /** The glue and its current core instances. */
  template: { glue: GlueTemplate; handler: HandlerExports; generations: number; maxGenerations: number; uses: number } | undefined;
}

// jco's glue reads process.env.JCO_DEBUG on every host call. The worker's environment is empty
// (see startWorker); a plain object reads several times faster than Node's env object.
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

let bodyPort: MessagePort;
let signal: Int32Array;
let instanceReuse = 1;
const components = new Map<string, LoadedComponent>();
const logs: LogBuffer[] = [];

/** The request body of the job being run, fed by the main thread and read synchronously. */
class BodySource implements ByteSource {
  private readonly job: number;
  private queue: Uint8Array[] = [];
  private ended = false;
  readonly poll: PollSource;
  constructor(job: number) {
    this.job = job;
    this.poll = { ready: () => this.available(), external: true };
  }
  private pump(): void {
    drainBodyPort();
    for (const msg of inbox.splice(0)) {
      if (msg.job !== this.job) continue; // left over from an earlier request
      if ('end' in msg) this.ended = true;
      else this.queue.push(msg.chunk);
    }
  }
  private available(): boolean {
    this.pump();
    return this.queue.length > 0 || this.ended;
  }
  read(max: number): Uint8Array | undefined {
    this.pump();
    const head = this.queue[0];
    if (head === undefined) return this.ended ? undefined : new Uint8Array(0);
    if (head.length <= max) {
      this.queue.shift();
      return head;
    }
    this.queue[0] = head.subarray(max);
    return head.subarray(0, max);
  }
  waitReadable(): void {
    while (!this.available()) blocker.wait(Infinity);
  }
}

/** Body messages received but not yet taken by the current request's source. */
const inbox: BodyMessage[] = [];

function drainBodyPort(): boolean {
  let got = false;
  for (;;) {
    const received = receiveMessageOnPort(bodyPort);
    if (received === undefined) return got;
    inbox.push(received.message as BodyMessage);
    got = true;
  }
}

const blocker: Blocker = {
  wait(ms: number): void {
    const seen = Atomics.load(signal, 0);
    // The main thread posts before it bumps the signal, so anything that arrived between the
    // caller's check and `seen` is in the port now; only then is it safe to sleep.
    if (drainBodyPort()) return;
    Atomics.wait(signal, 0, seen, ms === Infinity ? undefined : ms);
  },
};

async function init(msg: InitMessage): Promise<void> {
  bodyPort = msg.bodyPort as unknown as MessagePort;
  signal = new Int32Array(msg.signal);
  instanceReuse = msg.instanceReuse;
  templateGenerations = msg.templateGenerations;
  if (msg.capabilities !== undefined) {
    // Loaded only when the app has capabilities wired (they bring SQLite and the blocking bridge).
    const { installWorkerCapabilities } = await import('./register-capabilities.js');
    installWorkerCapabilities(msg.capabilities);
  }
  for (const prepared of msg.components) {
    const stdout = new LogBuffer(prepared.id, 'stdout');
    const stderr = new LogBuffer(prepared.id, 'stderr');
    logs.push(stdout, stderr);
    let instantiate: GlueInstantiate | undefined;
    if (prepared.glueUrl !== undefined) {
      const glue = (await import(prepared.glueUrl)) as { instantiate: GlueInstantiate };
      instantiate = glue.instantiate;
    }
    components.set(prepared.id, {
      prepared,
      instantiate,
      ctx: { componentId: prepared.id, env: prepared.env, mounts: resolveMounts(prepared.mounts), stdout, stderr, blocker },
      template: undefined,
    });
  }
  send({ type: 'ready' });
}

function handlerOf(loaded: LoadedComponent): HandlerExports {
  const t = loaded.template;
  if (t !== undefined) {
    if (t.uses === 0 || t.uses < instanceReuse) {
      t.uses++;
      return t.handler;
    }
    if (t.generations < t.maxGenerations) {
      // A fresh guest: new core instances under the same glue.
      t.glue.refresh();
      t.generations++;
      t.uses = 1;
      return t.handler;
    }
  }
  const { prepared, instantiate } = loaded;
  if (instantiate === undefined) throw new Error(`component ${prepared.id} has no glue`);
  const glue = new GlueTemplate(
    instantiate,
    (name) => {
      const module = prepared.modules[name];
      if (module === undefined) throw new Error(`missing core module ${name}`);
      return module;
    },
    buildImports(prepared.imports, loaded.ctx),
  );
  const handler = glue.exports['incomingHandler'] as HandlerExports;
  // Import objects hold no per-request state (that is behind the registry's request scopes), so
  // every component, capabilities included, shares one glue build across fresh instances.
  loaded.template = { glue, handler, generations: 1, maxGenerations: templateGenerations, uses: 1 };
  return handler;
}

/**
 * Makes the next fresh instance while the worker is idle, so a request that finds the worker free
 * does not wait for instantiation. A message that arrives first is handled first.
 */
function prewarm(loaded: LoadedComponent): void {
  const t = loaded.template;
  if (t === undefined || t.uses === 0 || t.uses < instanceReuse || t.generations >= t.maxGenerations) return;
  setImmediate(() => {
    if (loaded.template !== t || t.uses === 0 || t.uses < instanceReuse) return;
    try {
      t.glue.refresh();
      t.generations++;
      t.uses = 0;
    } catch {
      loaded.template = undefined;
    }
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function runHttp(msg: HttpJobMessage): void {
  const { job } = msg;
  const loaded = components.get(msg.componentId);
  if (loaded === undefined) {
    send({ type: 'error', job, code: 'RUNTIME_UNKNOWN_COMPONENT', message: `no component ${msg.componentId}` });
    return;
  }
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
        send({ type: 'end', job });
      }
    },
    fail(error) {
      failed = error;
    },
  };
  const body = new BodySource(job);
  try {
    const handler = handlerOf(loaded);
    beginRequest(loaded.ctx);
    try {
      handler.handle(new IncomingRequest({ method: msg.method, url: msg.url, headers: msg.headers }, body, blocker), new ResponseOutparam(sink));
    } finally {
      endRequest(loaded.ctx);
    }
  } catch (err) {
    // After a fault the glue's own state is suspect: rebuild it for the next request.
    loaded.template = undefined;
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
  prewarm(loaded);
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
    const result = runWagiFn(module, msg.invocation);
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
