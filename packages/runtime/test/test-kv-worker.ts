// Test worker: drives the key-value host of one instance the way jco's glue would.
import { parentPort, workerData } from 'node:worker_threads';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import type { KvWorkerConfig } from '../src/services/key-value.js';
import { createInstanceKvHost, openWorkerKvStores } from '../src/guest/spin/key-value.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';

const data = workerData as { endpoint: BridgeEndpoint; config: KvWorkerConfig; labels: string[] };
const bridge = createSyncBridge(data.endpoint);
const stores = openWorkerKvStores(data.config, bridge);
const host = createInstanceKvHost(stores, data.labels);
const dec = new TextDecoder();
const enc = new TextEncoder();

function payload(fn: () => unknown): unknown {
  try {
    return { ok: fn() };
  } catch (err) {
    // jco's glue takes an own `payload`, or any thrown non-Error value, as the result's error.
    if (typeof err === 'object' && err !== null && 'payload' in err) return { err: (err as { payload: unknown }).payload };
    if (!(err instanceof Error)) return { err };
    return { trap: String(err) };
  }
}

const Store = host.imports['fermyon:spin/key-value@2.0.0'].Store;
const wasiStore = host.imports['wasi:keyvalue/store'];
const atomics = host.imports['wasi:keyvalue/atomics'];
const results: Record<string, unknown> = {};
const def = Store.open('default');
const seeded = def.get('seeded');
results['seeded'] = seeded === undefined ? undefined : dec.decode(seeded);
def.set('from-worker', enc.encode(String(data.labels.length)));
results['denied'] = payload(() => Store.open('secret'));
if (data.labels.includes('cache')) {
  const bucket = wasiStore.open('cache');
  bucket.set('r', enc.encode('redis value'));
  results['redis'] = dec.decode(bucket.get('r') ?? new Uint8Array());
  results['counter'] = String(atomics.increment(bucket, 'n', 5n)) + ',' + String(atomics.increment(bucket, 'n', 2n));
}
host.dispose();
stores.close();
parentPort?.postMessage(results);
