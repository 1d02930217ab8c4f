// Test worker: runs a transpiled component the way the engine's worker does, with the
// worker's host built from the capabilities' init, and answers one request per message.
import { parentPort, workerData } from 'node:worker_threads';
import { IncomingRequest, ResponseOutparam, type ResponseSink } from '../src/guest/wasi/http.js';
import { MemorySource } from '../src/guest/wasi/io.js';
import type { InstanceContext } from '../src/guest/host-registry.js';
import type { PreparedComponent } from '../src/prepare/prepare-component.js';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import { createHostRegistry, type GuestCapabilitiesInit } from '../src/guest/guest-host.js';

type Instantiate = (get: (name: string) => WebAssembly.Module, imports: Record<string, Record<string, unknown>>) => Record<string, unknown>;
const data = workerData as { init: GuestCapabilitiesInit; endpoint: BridgeEndpoint; prepared: PreparedComponent };
const channel = createSyncBridge(data.endpoint);
const blocker = { wait: (ms: number): void => channel.wait(ms) };
const registry = await createHostRegistry(data.init, channel, blocker);
const { prepared } = data;
const glue = (await import(prepared.glueUrl ?? '')) as { instantiate: Instantiate };
const ctx: InstanceContext = { componentId: prepared.id, env: [], mounts: [], stdout: { write() {} }, stderr: { write() {} }, blocker };

parentPort?.on('message', (msg: { path: string; headers: Array<[string, string]> }) => {
  const exports = glue.instantiate((name) => prepared.modules[name] as WebAssembly.Module, registry.buildImports(prepared.imports, ctx));
  const handler = exports['incomingHandler'] as { handle(req: IncomingRequest, out: ResponseOutparam): void };
  let status = 0;
  const chunks: Uint8Array[] = [];
  let failed: unknown;
  const sink: ResponseSink = {
    head: (s) => (status = s),
    chunk: (b) => chunks.push(b),
    end: () => undefined,
    fail: (e) => (failed = e),
  };
  try {
    registry.beginRequest(ctx);
    try {
      handler.handle(new IncomingRequest({ method: 'GET', url: `http://127.0.0.1:3000${msg.path}`, headers: msg.headers }, new MemorySource(new Uint8Array(0)), blocker), new ResponseOutparam(sink));
    } finally {
      registry.endRequest(ctx);
    }
    parentPort?.postMessage({ status, body: Buffer.concat(chunks).toString(), failed });
  } catch (err) {
    parentPort?.postMessage({ trap: String(err) });
  }
});
parentPort?.postMessage('ready');
