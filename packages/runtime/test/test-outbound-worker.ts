// Test worker: drives the outbound HTTP host the way jco's glue would for a guest.
import { parentPort, workerData } from 'node:worker_threads';
import { Fields, OutgoingBody, OutgoingRequest, RequestOptions } from '../src/guest/wasi/http.js';
import { Pollable, poll, type InputStream } from '../src/guest/wasi/io.js';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import { createOutboundHost, type FutureIncomingResponse, type IncomingResponse } from '../src/guest/spin/outbound-http.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import { DISPOSE } from '../src/guest/spin/resource-dispose.js';
import { releaseAbandonedLanes } from '../src/channel/socket-lane.js';
import { Script, createContext } from 'node:vm';

interface Step {
  /** `drop`: a wasi request whose body stream the guest drops after its first chunk. */
  /** `stopped`: a wasi request whose guest is stopped at a deadline (a node:vm timeout of `ms`) while it waits, then abandoned as worker-entry.ts does. */
  /** `open`: the host's requests still open; `unread`: a wasi request whose response head is taken and its body left unread. */
  /** `kept`: a wasi request whose future the guest keeps past its request scope (`--instance-reuse`), then polls. */
  api: 'wasi' | 'spin' | 'mixed-poll' | 'drop' | 'sleep' | 'stopped' | 'open' | 'unread' | 'kept';
  /** `sleep`: how long. */
  ms?: number;
  url: string;
  method?: string;
  body?: string;
  firstByteTimeoutMs?: number;
  betweenBytesTimeoutMs?: number;
  headers?: Array<[string, string]>;
  /** Body chunks written after `handle()`, one by one (instead of `body`'s two). */
  chunks?: string[];
}
const data = workerData as { endpoint: BridgeEndpoint; componentId: string; steps: Step[] };
const bridge = createSyncBridge(data.endpoint);
const host = createOutboundHost({ bridge, componentId: data.componentId });
const enc = new TextEncoder();

function caught(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'payload' in err) return { thrown: (err as { payload: unknown }).payload };
    throw err;
  }
}

function wasi(step: Step): unknown {
  const headers = Fields.fromList([['x-test', enc.encode('1')], ...(step.headers ?? []).map(([n, v]): [string, Uint8Array] => [n, enc.encode(v)])]);
  const req = new OutgoingRequest(headers);
  const relative = step.url.startsWith('/');
  const u = new URL(step.url, 'http://placeholder');
  if (!relative) {
    req.setScheme({ tag: u.protocol === 'https:' ? 'HTTPS' : 'HTTP' });
    req.setAuthority(u.host);
  }
  req.setPathWithQuery(u.pathname + u.search);
  if (step.method !== undefined) req.setMethod({ tag: step.method.toLowerCase() });
  let body: OutgoingBody | undefined;
  let out: ReturnType<OutgoingBody['write']> | undefined;
  if (step.body !== undefined || step.chunks !== undefined) {
    body = req.body();
    out = body.write();
    if (step.body !== undefined) out.blockingWriteAndFlush(enc.encode(step.body.slice(0, 2)));
  }
  const options = new RequestOptions();
  if (step.firstByteTimeoutMs !== undefined) options.setFirstByteTimeout(BigInt(step.firstByteTimeoutMs) * 1_000_000n);
  if (step.betweenBytesTimeoutMs !== undefined) options.setBetweenBytesTimeout(BigInt(step.betweenBytesTimeoutMs) * 1_000_000n);
  const future = host.wasiOutgoingHandler.handle(req, options) as FutureIncomingResponse;
  if (body !== undefined && out !== undefined) {
    // The rest is written after handle(): streamed to the upstream as it comes.
    for (const chunk of step.chunks ?? [(step.body ?? '').slice(2)]) out.blockingWriteAndFlush(enc.encode(chunk));
    OutgoingBody.finish(body, undefined);
  }
  if (step.api === 'kept') {
    // The request scope ends (as worker-entry.ts ends it between requests); the next request's
    // guest then polls the future it kept.
    host.dispose();
    const started = Date.now();
    future.subscribe().block();
    const kept = future.get();
    return { outcome: kept?.tag === 'ok' && kept.val.tag === 'err' ? kept.val.val : kept?.tag, waitedLong: Date.now() - started > 2000 };
  }
  const pollable = future.subscribe();
  pollable.block();
  const outcome = future.get();
  if (outcome === undefined || outcome.tag === 'err') return { error: 'future not ready' };
  const result = outcome.val;
  if (result.tag === 'err') return { errorCode: result.val };
  const res: IncomingResponse = result.val;
  const stream: InputStream = res.consume().stream();
  if (step.api === 'unread') return { status: res.status() };
  if (step.api === 'drop') {
    const first = stream.blockingRead(16n);
    (stream as unknown as Record<symbol, () => void>)[DISPOSE]?.();
    return { status: res.status(), first: Buffer.from(first).toString() };
  }
  const chunks: Uint8Array[] = [];
  for (;;) {
    try {
      chunks.push(stream.blockingRead(65536n));
    } catch (err) {
      const payload = (err as { payload?: { tag: string; val?: unknown } }).payload;
      if (payload?.tag === 'closed') break;
      if (payload?.tag === 'last-operation-failed') {
        return { status: res.status(), bodyError: (host.wasiHttpTypes['httpErrorCode'] as (e: unknown) => unknown)(payload.val) };
      }
      throw err;
    }
  }
  const text = Buffer.concat(chunks);
  return {
    status: res.status(),
    location: res.headers().get('location').map((v) => Buffer.from(v).toString())[0],
    length: text.length,
    body: text.length > 1000 ? undefined : text.toString(),
  };
}

function spin(step: Step): unknown {
  return caught(() => {
    const res = host.spinHttp.sendRequest({
      method: (step.method ?? 'get').toLowerCase(),
      uri: step.url,
      headers: [['x-test', '1'], ...(step.headers ?? [])],
      body: step.body === undefined ? undefined : enc.encode(step.body),
    });
    return { status: res.status, body: res.body === undefined ? undefined : Buffer.from(res.body).toString() };
  });
}

// A poll over an outbound response and a pollable of another source whose blocker sleeps on a
// signal no bridged result ever bumps (as the engine's inbound-body blocker does): it must still
// return once the response is there.
function mixedPoll(step: Step): unknown {
  const u = new URL(step.url);
  const req = new OutgoingRequest(new Fields());
  req.setScheme({ tag: 'HTTP' });
  req.setAuthority(u.host);
  req.setPathWithQuery(u.pathname);
  const future = host.wasiOutgoingHandler.handle(req, undefined) as FutureIncomingResponse;
  const otherCell = new Int32Array(new SharedArrayBuffer(4));
  const other = new Pollable({ ready: () => false, external: true }, { wait: (ms) => void Atomics.wait(otherCell, 0, 0, ms === Infinity ? undefined : ms) });
  const ready = poll([future.subscribe(), other]);
  return { ready: [...ready], status: (future.get() as { val: { val: IncomingResponse } }).val.val.status() };
}

function stopped(step: Step): unknown {
  const context = createContext({ run: () => wasi({ ...step, api: 'wasi' }) });
  try {
    new Script('run()').runInContext(context, { timeout: step.ms ?? 50 });
    return { stopped: false };
  } catch (err) {
    // What worker-entry.ts's abandon() does once the stopped guest is off the stack.
    releaseAbandonedLanes();
    host.dispose();
    return { stopped: (err as { code?: unknown }).code };
  }
}

function sleep(step: Step): null {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, step.ms ?? 0);
  return null;
}

function run(step: Step): unknown {
  switch (step.api) {
    case 'wasi':
    case 'drop':
    case 'unread':
    case 'kept':
      return wasi(step);
    case 'spin':
      return spin(step);
    case 'sleep':
      return sleep(step);
    case 'stopped':
      return stopped(step);
    case 'open':
      return { open: host.openRequests() };
    default:
      return mixedPoll(step);
  }
}

const results = data.steps.map(run);
host.dispose();
parentPort?.postMessage(results);
