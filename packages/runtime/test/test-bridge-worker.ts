// Test worker for the blocking bridge: runs one scenario against the endpoint it was given.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createSyncBridge } from '../src/channel/sync-bridge.js';
import type { BridgeEndpoint } from '../src/channel/bridge-protocol.js';

const data = workerData as { endpoint: BridgeEndpoint; scenario: string; args?: unknown };
const bridge = createSyncBridge(data.endpoint);

function run(): unknown {
  switch (data.scenario) {
    case 'echo':
      return bridge.call('echo', data.args);
    case 'sleep': {
      // Proves the thread really blocks: no event-loop turn happens until the call returns.
      let ticked = false;
      setImmediate(() => (ticked = true));
      const value = bridge.call('sleep', data.args);
      return { value, tickedWhileBlocked: ticked };
    }
    case 'fail':
      try {
        bridge.call('fail');
        return 'no error';
      } catch (err) {
        const e = err as { code?: string; remoteCode?: string; message: string };
        return { code: e.code, remoteCode: e.remoteCode, message: e.message };
      }
    case 'stream': {
      const call = bridge.start('stream', data.args);
      const pushes: unknown[] = [];
      for (;;) {
        const event = call.next();
        if (event === undefined) continue;
        if (event.kind === 'push') pushes.push(event.data);
        else if (event.kind === 'done') return { pushes, result: event.value };
        else return { pushes, error: event.error.code };
      }
    }
    case 'push-then-wait': {
      // Tells the test about the first push while the handler still runs, then waits for the end.
      const call = bridge.start('held');
      const pushes: unknown[] = [];
      for (;;) {
        const event = call.next();
        if (event === undefined) continue;
        if (event.kind === 'push') {
          pushes.push(event.data);
          parentPort?.postMessage({ pushed: event.data });
        } else return { pushes, result: event.kind === 'done' ? event.value : event.error.code };
      }
    }
    case 'ack-each-push': {
      // Acknowledges every push, as outbound HTTP acknowledges body chunks it read.
      const call = bridge.start('fetch');
      const pushes: unknown[] = [];
      for (;;) {
        const event = call.next();
        if (event === undefined) continue;
        if (event.kind !== 'push') return { pushes, result: event.kind === 'done' ? event.value : event.error.code };
        pushes.push(event.data);
        call.send({ ack: event.data });
      }
    }
    case 'echo-many': {
      const got: unknown[] = [];
      for (let i = 0; i < (data.args as number); i++) got.push(bridge.call('echo', i));
      return got;
    }
    case 'cpu-during-call': {
      // This thread's CPU time (ms, Linux) over one call whose reply takes long.
      const cpu = (): number => {
        const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      };
      const before = cpu();
      const startedAt = Date.now();
      const value = bridge.call('slow', data.args);
      return { value, cpuMs: cpu() - before, wallMs: Date.now() - startedAt };
    }
    case 'upload': {
      const call = bridge.start('upload');
      for (const part of data.args as string[]) call.send(part);
      call.send(null);
      const event = call.next();
      return event?.kind === 'done' ? event.value : event;
    }
    case 'cancel': {
      const call = bridge.start('forever');
      call.next(50);
      call.cancel();
      return bridge.call('echo', 'after cancel');
    }
    case 'waiting': {
      // Two waits counted, one uncounted, each seen from a call; then blocked with one still counted.
      bridge.waiting(1);
      bridge.waiting(1);
      const both = bridge.call('probe');
      bridge.waiting(-1);
      const one = bridge.call('probe');
      parentPort?.postMessage({ both, one });
      bridge.call('forever');
      return 'returned';
    }
    case 'blocked-forever':
      try {
        bridge.call('forever');
        return 'returned';
      } catch (err) {
        return { code: (err as { code?: string }).code };
      }
    default:
      throw new Error(`unknown scenario ${data.scenario}`);
  }
}

parentPort?.postMessage(run());
