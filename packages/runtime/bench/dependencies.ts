/**
 * Component dependencies: a request through a WAT component whose `greet` import is satisfied by
 * a dependency (composed at load) against the same answer computed in one component, both run by
 * the executor with a fresh instance per request (Spin's model). Rounds alternate between the two;
 * the ratio of the median per-request times is printed (lower is better; the target is at most
 * 1.3). A second line reuses instances (`instanceReuse`), which leaves only the cost of calling
 * across the dependency boundary: the difference between the two lines is instantiating the
 * dependency's core instances and its linear memory on every request.
 * Run with `pnpm --filter @spinel/runtime bench`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { writeDependencyGuest } from '@spinel/test-utils';
import { createExecutor } from '../src/pool/create-executor.js';
import { median } from './harness.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const PER_ROUND = Number(process.env['BENCH_REQUESTS'] ?? 100);
const CONCURRENCY = 4;

async function* empty(): AsyncIterable<Uint8Array> {}

const dir = await mkdtemp(join(tmpdir(), 'spinel-bench-deps-'));
try {
  const [app, greeter, inline] = await Promise.all([writeDependencyGuest('app', dir), writeDependencyGuest('greeter', dir), writeDependencyGuest('app-inline', dir)]);
  const src = (p: string): { content_type: string; source: string } => ({ content_type: 'application/wasm', source: pathToFileURL(p).href });
  const locked: LockedApp = {
    triggers: [
      { id: 't1', trigger_type: 'http', trigger_config: { component: 'with-dependency', route: '/dep' } },
      { id: 't2', trigger_type: 'http', trigger_config: { component: 'one-component', route: '/one' } },
    ],
    components: [
      { id: 'with-dependency', source: src(app), dependencies: { 'spinel:greeting/greet': { source: src(greeter), export: null } } },
      { id: 'one-component', source: src(inline) },
    ],
  };
  const cache = openCache({ root: join(dir, 'cache') });
  for (const [label, instanceReuse] of [
    ['fresh instance per request', 1],
    ['instances reused', 1000],
  ] as const) {
  const executor = await createExecutor({ app: locked, cache, workers: 2, logDir: null, instanceReuse });
  const run = async (id: string): Promise<number> => {
    const start = process.hrtime.bigint();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next++ < PER_ROUND) {
        const res = await executor.handle(id, { method: 'GET', url: 'http://127.0.0.1/', headers: [], body: empty() });
        let text = '';
        for await (const chunk of res.body) text += Buffer.from(chunk).toString();
        if (text !== 'hello, world') throw new Error(`${id} answered ${JSON.stringify(text)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return Number(process.hrtime.bigint() - start) / 1e6 / PER_ROUND;
  };
  await run('with-dependency');
  await run('one-component');
  const dep: number[] = [];
  const one: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    dep.push(await run('with-dependency'));
    one.push(await run('one-component'));
  }
  await executor.close();
  const [d, o] = [median(dep), median(one)];
  console.log(
    `${`component with one dependency ÷ the same logic in one component, ${label}`.padEnd(92)} ${`${(d * 1000).toFixed(0)} µs/req`.padStart(12)} vs ${`${(o * 1000).toFixed(0)} µs/req`.padStart(12)}  ratio ${(d / o).toFixed(2)}${instanceReuse === 1 ? ' (lower is better; target ≤ 1.30)' : ''}`,
  );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
