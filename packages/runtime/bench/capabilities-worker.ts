// Benchmark worker: runs guest-shaped calls (through the capability host bindings) in a loop.
import { parentPort, workerData } from 'node:worker_threads';
import { Fields, OutgoingRequest } from '../src/guest/wasi/http.js';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import type { KvWorkerConfig } from '../src/services/key-value.js';
import { createInstanceKvHost, openWorkerKvStores } from '../src/guest/spin/key-value.js';
import { createOutboundHost } from '../src/guest/spin/outbound-http.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';

const data = workerData as { endpoint: BridgeEndpoint; mode: 'http' | 'kv'; url: string; ms: number; kv: KvWorkerConfig; label: string };
const bridge = createSyncBridge(data.endpoint);

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

const ops = data.mode === 'http' ? http() : kv();
parentPort?.postMessage(ops);
