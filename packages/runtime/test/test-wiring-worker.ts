// Test worker: builds the worker's host from the capabilities' init, as the engine's worker does, and uses the imports the
// engine would hand a guest instance.
import { parentPort, workerData } from 'node:worker_threads';
import type { Fields, OutgoingRequest } from '../src/guest/wasi/http.js';
import type { InstanceContext } from '../src/guest/host-registry.js';
import type { FutureIncomingResponse } from '../src/guest/spin/outbound-http.js';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import { createHostRegistry, type GuestCapabilitiesInit } from '../src/guest/guest-host.js';

const data = workerData as { init: GuestCapabilitiesInit; endpoint: BridgeEndpoint; upstream: string; denied: string };
const channel = createSyncBridge(data.endpoint);
const registry = await createHostRegistry(data.init, channel, { wait: (ms) => channel.wait(ms) });
const ctx: InstanceContext = {
  componentId: 'web',
  env: [],
  mounts: [],
  stdout: { write() {} },
  stderr: { write() {} },
  blocker: { wait: (ms) => channel.wait(ms) },
};
const imports = registry.buildImports(
  [
    'fermyon:spin/variables@2.0.0',
    'wasi:config/store@0.2.0-draft',
    'fermyon:spin/key-value@2.0.0',
    'wasi:keyvalue/store@0.2.0-draft2',
    'wasi:http/types@0.2.3',
    'wasi:http/outgoing-handler@0.2.3',
    'fermyon:spin/http',
  ],
  ctx,
);
type Fn = (...a: unknown[]) => unknown;
const get = (iface: string, name: string): Fn => (imports[iface]?.[name] as Fn).bind(imports[iface]);
const dec = new TextDecoder();

function outcome(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'payload' in err) return { err: (err as { payload: unknown }).payload };
    if (!(err instanceof Error)) return { err };
    return { trap: err.message };
  }
}

function wasiGet(url: string): unknown {
  const u = new URL(url);
  const Types = imports['wasi:http/types'] as { OutgoingRequest: typeof OutgoingRequest; Fields: typeof Fields };
  const req = new Types.OutgoingRequest(new Types.Fields());
  req.setScheme({ tag: 'HTTP' });
  req.setAuthority(u.host);
  req.setPathWithQuery(u.pathname);
  const future = get('wasi:http/outgoing-handler', 'handle')(req, undefined) as FutureIncomingResponse;
  future.subscribe().block();
  const res = future.get();
  if (res?.tag !== 'ok') return 'not ready';
  if (res.val.tag === 'err') return res.val.val;
  const stream = res.val.val.consume().stream();
  const chunks: Uint8Array[] = [];
  for (;;) {
    try {
      chunks.push(stream.blockingRead(65536n));
    } catch {
      break;
    }
  }
  return { status: res.val.val.status(), body: Buffer.concat(chunks).toString() };
}

const Store = (imports['fermyon:spin/key-value'] as { Store: { open(l: string): { get(k: string): Uint8Array | undefined } } }).Store;
const results = {
  greeting: outcome(() => get('fermyon:spin/variables', 'get')('greeting')),
  missing: outcome(() => get('fermyon:spin/variables', 'get')('missing')),
  all: get('wasi:config/store', 'getAll')(),
  seeded: outcome(() => dec.decode(Store.open('default').get('seeded'))),
  otherStore: outcome(() => Store.open('other')),
  wasiBucket: outcome(() => typeof (imports['wasi:keyvalue/store'] as { open(l: string): unknown }).open('default')),
  allowed: wasiGet(`${data.upstream}/hi`),
  denied: wasiGet(`${data.denied}/no`),
  spinHttp: outcome(() => {
    const res = get('fermyon:spin/http', 'sendRequest')({ method: 'get', uri: '/self', headers: [], body: undefined }) as { status: number; body?: Uint8Array };
    return { status: res.status, body: dec.decode(res.body) };
  }),
};
registry.close();
channel.close();
parentPort?.postMessage(results);
