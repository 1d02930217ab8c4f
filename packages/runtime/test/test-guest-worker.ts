// Test worker: runs a transpiled component the way the engine's worker does, with the
// capabilities installed into the engine's registry, and answers one request per message.
import { parentPort, workerData } from 'node:worker_threads';
import { IncomingRequest, ResponseOutparam, type ResponseSink } from '../src/guest/wasi/http.js';
import { MemorySource } from '../src/guest/wasi/io.js';
import { beginRequest, buildImports, endRequest, type InstanceContext } from '../src/guest/host-registry.js';
import type { PreparedComponent } from '../src/prepare/prepare-component.js';
import type { WorkerCapabilitiesInit } from '../src/services/app-capabilities.js';
import { installWorkerCapabilities } from '../src/guest/register-capabilities.js';

type Instantiate = (get: (name: string) => WebAssembly.Module, imports: Record<string, Record<string, unknown>>) => Record<string, unknown>;
const data = workerData as { init: WorkerCapabilitiesInit; prepared: PreparedComponent };
const caps = installWorkerCapabilities(data.init);
const { prepared } = data;
const glue = (await import(prepared.glueUrl ?? '')) as { instantiate: Instantiate };
const ctx: InstanceContext = { componentId: prepared.id, env: [], mounts: [], stdout: { write() {} }, stderr: { write() {} }, blocker: caps.blocker };

parentPort?.on('message', (msg: { path: string; headers: Array<[string, string]> }) => {
  const exports = glue.instantiate((name) => prepared.modules[name] as WebAssembly.Module, buildImports(prepared.imports, ctx));
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
    beginRequest(ctx);
    try {
      handler.handle(new IncomingRequest({ method: 'GET', url: `http://127.0.0.1:3000${msg.path}`, headers: msg.headers }, new MemorySource(new Uint8Array(0)), caps.blocker), new ResponseOutparam(sink));
    } finally {
      endRequest(ctx);
    }
    parentPort?.postMessage({ status, body: Buffer.concat(chunks).toString(), failed });
  } catch (err) {
    parentPort?.postMessage({ trap: String(err) });
  }
});
parentPort?.postMessage('ready');
