// Queueing through `runApp`: deadlines count the guest's run only, queue time is bounded, and a
// flood to one component does not starve another.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { watComponent } from '@spinel/test-utils';
import type { LockedApp } from '@spinel/manifest';
import { runApp, type RunAppOptions } from '../run-app.js';
import { testApp } from '../../test/test-app.js';

let dir: string;
let cache: Cache;
let app: LockedApp;
let agent: Agent;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-fairness-'));
  cache = openCache({ root: join(dir, 'cache') });
  app = testApp([
    { id: 'hello', path: await watComponent('hello') },
    { id: 'loop', path: await watComponent('loop') },
  ]);
  agent = new Agent({ connections: 64 });
}, 120_000);

afterAll(async () => {
  await agent.close();
  await rm(dir, { recursive: true, force: true });
});

async function withApp(options: Partial<RunAppOptions>, body: (base: string) => Promise<void>): Promise<void> {
  const running = await runApp({ app, cache, listen: '127.0.0.1:0', ...options } as RunAppOptions);
  try {
    await body(running.baseUrl);
  } finally {
    await running.close();
  }
}

async function get(url: string): Promise<{ status: number; retryAfter: string | undefined; ms: number }> {
  const started = performance.now();
  const r = await request(url, { dispatcher: agent });
  await r.body.dump();
  const retry = r.headers['retry-after'];
  return { status: r.statusCode, retryAfter: typeof retry === 'string' ? retry : undefined, ms: performance.now() - started };
}

describe('queueing', () => {
  it('answers 503 with Retry-After once a request has waited the queue timeout for a worker', async () => {
    await withApp({ workers: 1, maxWorkers: 1, requestTimeoutMs: 8_000, queueTimeoutMs: 300 }, async (base) => {
      const looping = get(`${base}/loop`);
      await new Promise((r) => setTimeout(r, 300));
      const waited = await get(`${base}/hello`);
      expect([waited.status, waited.retryAfter]).toEqual([503, '1']);
      expect(waited.ms).toBeLessThan(6_000);
      expect((await looping).status).toBe(500);
    });
  }, 60_000);

  it('counts the request timeout from when the guest starts, not from when it was queued', async () => {
    await withApp({ workers: 1, maxWorkers: 1, requestTimeoutMs: 1_500 }, async (base) => {
      const looping = get(`${base}/loop`);
      await new Promise((r) => setTimeout(r, 500));
      // Queued behind the loop for about a second, then well within its own 1.5 s.
      const queued = await get(`${base}/hello`);
      expect(queued.status).toBe(200);
      expect(queued.ms).toBeGreaterThan(500);
      expect((await looping).status).toBe(500);
    });
  }, 60_000);

  it('keeps a healthy component answering under a loop flood to another (p99 below 1 s, 2 workers)', async () => {
    await withApp({ workers: 2, requestTimeoutMs: 2_000 }, async (base) => {
      let flooding = true;
      const flooder = async (): Promise<number> => {
        let n = 0;
        while (flooding) {
          await get(`${base}/loop`);
          n++;
        }
        return n;
      };
      const floods = Array.from({ length: 8 }, flooder);
      // Let the flood take every worker first; the first request waits for the pool's standby
      // worker to start (seconds when workers load TypeScript through tsx on a busy machine).
      await new Promise((r) => setTimeout(r, 500));
      expect((await get(`${base}/hello`)).status).toBe(200);
      const latencies: number[] = [];
      const statuses = new Set<number>();
      const until = performance.now() + 6_000;
      while (performance.now() < until) {
        const r = await get(`${base}/hello`);
        latencies.push(r.ms);
        statuses.add(r.status);
        await new Promise((r) => setTimeout(r, 20));
      }
      flooding = false;
      const loops = (await Promise.all(floods)).reduce((a, b) => a + b, 0);
      latencies.sort((a, b) => a - b);
      const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? Infinity;
      expect([...statuses]).toEqual([200]);
      expect(loops).toBeGreaterThan(0);
      expect(p99).toBeLessThan(1_000);
    });
  }, 120_000);
});
