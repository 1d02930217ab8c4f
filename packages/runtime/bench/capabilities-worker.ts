// Benchmark worker: runs guest-shaped calls (through the capability host bindings) in a loop.
// Posts the operations it ran, its own CPU time over them (µs, from schedstat) and the times it
// went to sleep (voluntary context switches: a wait on the bridge or on a lent socket).
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import type { KvWorkerConfig } from '../src/services/key-value.js';

const data = workerData as { endpoint: BridgeEndpoint; mode: 'http' | 'kv'; url: string; ms: number; kv: KvWorkerConfig; label: string; src?: string };
// The worker's modules come from `src` when given (a copy of an earlier `src/`, for a same-run A/B
// of worker-side changes: `--worker-src`), else from this checkout's.
const src = data.src ?? new URL('../src/', import.meta.url).href;
const { Fields, OutgoingRequest } = (await import(new URL('guest/wasi/http.ts', src).href)) as typeof import('../src/guest/wasi/http.js');
const { createInstanceKvHost, openWorkerKvStores } = (await import(new URL('guest/spin/key-value.ts', src).href)) as typeof import('../src/guest/spin/key-value.js');
const { createOutboundHost } = (await import(new URL('guest/spin/outbound-http.ts', src).href)) as typeof import('../src/guest/spin/outbound-http.js');
const { createSyncBridge } = (await import(new URL('channel/sync-bridge.ts', src).href)) as typeof import('../src/channel/sync-bridge.js');
const bridge = createSyncBridge(data.endpoint);

/** This thread's CPU time so far (µs). */
function cpuUs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}

function http(): number {
  const host = createOutboundHost({ bridge, componentId: 'bench' });
  const u = new URL(data.url);
  let n = 0;
  const end = Date.now() + data.ms;
  while (Date.now() < end) {
    const req = new OutgoingRequest(new Fields());
    req.setScheme({ tag: 'HTTP' });
    req.setAuthority(u.host);
    req.setPathWithQuery(u.pathname);
    const future = host.wasiOutgoingHandler.handle(req, undefined);
    future.subscribe().block();
    const res = future.get();
    if (res?.tag !== 'ok' || res.val.tag !== 'ok') throw new Error('request failed');
    const stream = res.val.val.consume().stream();
    for (;;) {
      try {
        stream.blockingRead(65536n);
      } catch {
        break;
      }
    }
    n++;
  }
  host.dispose();
  return n;
}

function kv(): number {
  const stores = openWorkerKvStores(data.kv, bridge);
  const host = createInstanceKvHost(stores, [data.label]);
  const store = host.imports['fermyon:spin/key-value@2.0.0'].Store.open(data.label);
  const value = new Uint8Array(64);
  let n = 0;
  const end = Date.now() + data.ms;
  while (Date.now() < end) {
    store.set(`k${n % 100}`, value);
    store.get(`k${n % 100}`);
    n += 2;
  }
  host.dispose();
  stores.close();
  return n;
}

/** Times this thread has gone to sleep so far. */
function sleeps(): number {
  try {
    return Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(readFileSync('/proc/thread-self/status', 'utf8'))?.[1]);
  } catch {
    return Number.NaN;
  }
}

const before = cpuUs();
const slept = sleeps();
const ops = data.mode === 'http' ? http() : kv();
parentPort?.postMessage({ ops, cpuUs: cpuUs() - before, sleeps: sleeps() - slept });
