// Bodies through `runApp`: request bodies pulled as the guest reads them and dropped unkept when it
// does not; a response the guest finished at once sent whole, with Content-Length.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import { runApp, type RunningApp } from '../run-app.js';
import { testApp } from '../../test/test-app.js';

const MiB = 1024 * 1024;
/** 1 MB bodies sent to each component; SPINEL_BODY_ROUNDS=2000 is the full profile of issue 10. */
const ROUNDS = Number(process.env['SPINEL_BODY_ROUNDS'] ?? 150);

let dir: string;
let running: RunningApp;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-bodies-'));
  const app = testApp([
    { id: 'hello', path: await watComponent('hello') },
    { id: 'echo', path: await watComponent('echo') },
  ]);
  running = await runApp({ app, cache: openCache({ root: join(dir, 'cache') }), listen: '127.0.0.1:0', workers: 2, requestTimeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await running?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Sends one raw request and reads until the server closes the connection. */
function rawExchange(head: string, body: Buffer, timeoutMs: number): Promise<{ response: string; written: boolean }> {
  const { port } = new URL(running.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const parts: Buffer[] = [];
    let written = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms (body fully written: ${written})`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response: Buffer.concat(parts).toString('latin1'), written });
    });
    socket.write(head);
    socket.write(body, () => {
      written = true;
    });
  });
}

function gcRss(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().rss;
}

describe('request bodies', () => {
  it('answers an HTTP/1.0 client whose 32 MB body the guest never reads, reading the rest past it', async () => {
    const body = Buffer.alloc(32 * MiB, 7);
    const head = `POST /hello HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { response, written } = await rawExchange(head, body, 60_000);
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toMatch(/\r\ncontent-length: 15\r\n/i);
    expect(response.endsWith('hello from wat\n')).toBe(true);
    expect(written).toBe(true);
  }, 90_000);

  it('keeps a keep-alive connection usable after a body the guest ignored, and echoes one it reads', async () => {
    const agent = new Agent({ connections: 1 });
    try {
      const big = Buffer.alloc(4 * MiB, 1);
      for (let i = 0; i < 3; i++) {
        const ignored = await request(`${running.baseUrl}/hello`, { method: 'POST', body: big, dispatcher: agent });
        expect([ignored.statusCode, await ignored.body.text()]).toEqual([200, 'hello from wat\n']);
        const echoed = await request(`${running.baseUrl}/echo`, { method: 'POST', body: big, dispatcher: agent });
        expect(echoed.statusCode).toBe(201);
        expect(Buffer.from(await echoed.body.arrayBuffer()).equals(big)).toBe(true);
      }
    } finally {
      await agent.close();
    }
  }, 90_000);

  it(`keeps no body: ${ROUNDS} × 1 MB to a component that ignores it and to one that echoes it, twice, leave RSS within 64 MB over the second batch`, async () => {
    const agent = new Agent({ connections: 4 });
    const body = Buffer.alloc(MiB, 3);
    const send = async (path: string): Promise<void> => {
      const r = await request(`${running.baseUrl}${path}`, { method: 'POST', body, dispatcher: agent });
      let n = 0;
      for await (const chunk of r.body) n += (chunk as Buffer).length;
      if (n !== (path === '/echo' ? MiB : 15)) throw new Error(`${path} answered ${r.statusCode} with ${n} bytes`);
    };
    try {
      let next = 0;
      const lanes = async (rounds: number): Promise<void> => {
        next = 0;
        const lane = async (): Promise<void> => {
          while (next < rounds) {
            next++;
            await send('/hello');
            await send('/echo');
          }
        };
        await Promise.all([lane(), lane(), lane(), lane()]);
      };
      // Warm-up rounds at the same concurrency, so what is measured is growth, not the heaps and
      // socket buffers every worker and connection allocates once.
      await lanes(40);
      const before = gcRss();
      await lanes(ROUNDS);
      const middle = gcRss();
      await lanes(ROUNDS);
      const after = gcRss();
      // Kept bodies would grow RSS by about 2 MB a round, in each batch. A one-time allocation
      // (a worker started during the first batch, a heap sized up) does not come back in the second.
      expect((after - middle) / MiB).toBeLessThan(64);
      expect((after - before) / MiB).toBeLessThan(128);
    } finally {
      await agent.close();
    }
  }, 600_000);
});

describe('responses the guest finished at once', () => {
  it('go out whole with Content-Length, so an HTTP/1.0 keep-alive client keeps its connection', async () => {
    const { port } = new URL(running.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    try {
      let buffered = '';
      const next = (): Promise<string> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no whole response; got ${JSON.stringify(buffered)}`)), 30_000);
          const check = (): void => {
            const end = buffered.indexOf('hello from wat\n');
            if (end === -1) return;
            const response = buffered.slice(0, end + 15);
            buffered = buffered.slice(end + 15);
            socket.off('data', onData);
            clearTimeout(timer);
            resolve(response);
          };
          const onData = (d: Buffer): void => {
            buffered += d.toString('latin1');
            check();
          };
          socket.on('data', onData);
          check();
        });
      for (let i = 0; i < 3; i++) {
        socket.write('GET /hello HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
        const response = await next();
        expect(response).toMatch(/^HTTP\/1\.1 200 /);
        expect(response).toMatch(/\r\ncontent-length: 15\r\n/i);
        expect(response).toMatch(/\r\nconnection: keep-alive\r\n/i);
        expect(response).not.toMatch(/transfer-encoding/i);
      }
      expect(socket.destroyed).toBe(false);
    } finally {
      socket.destroy();
    }
  }, 60_000);
});
