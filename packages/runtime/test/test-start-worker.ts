// Test helper: starts a worker thread running one of this directory's TypeScript test workers
// (through tsx, as the engine does when running from sources).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';

export function startTsWorker(file: string, workerData: unknown, transferList: readonly TransferListItem[] = []): Worker {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL(file, import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData, transferList: [...transferList] });
}

/** The first message the worker posts (its result), or its error. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', (m: T) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
}

/**
 * Runs `steps` in `./test-outbound-worker.ts` as component `componentId`, attached to `server`
 * (a bridge server with the outbound handlers), and returns each step's result.
 */
export async function runOutboundSteps(server: { connect(): BridgeEndpoint }, steps: unknown[], componentId = 'guest'): Promise<unknown[]> {
  const endpoint = server.connect();
  const worker = startTsWorker('./test-outbound-worker.ts', { endpoint, componentId, steps }, [endpoint.port]);
  try {
    return await firstMessage<unknown[]>(worker);
  } finally {
    await worker.terminate();
  }
}
