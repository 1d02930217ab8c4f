// Push then pull of a Spin app (one 12 MB component, 300 small files) against a local
// registry, as a ratio to `skopeo copy` of the same artifact between that registry and an
// OCI layout directory; then a warm-cache pull, counting its requests (expect 1 manifest, 0 blobs).
// Run: pnpm --filter @spinel/oci bench   (needs docker-registry and skopeo)
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { openCache } from '@spinel/cache';
import { startRegistry } from '@spinel/test-utils';
import { Agent } from 'undici';
import { createRegistryClient } from '../src/registry-client.js';
import { pullArtifact } from '../src/spin-app/pull-app.js';
import { pushApp } from '../src/spin-app/push-app.js';
import { CONNECTIONS_PER_ORIGIN } from '../src/transfer-limits.js';
import type { LockedApp } from '@spinel/manifest';

const exec = promisify(execFile);
// skopeo moves 300 small layers slowly, so one timed round keeps this under ~2 minutes here;
// BENCH_ROUNDS=3 BENCH_WARMUP=1 gives medians after a warm-up round.
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 1);
const WARMUP = process.env['BENCH_WARMUP'] === '1';

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'spinel-bench-oci-'));
  const registry = await startRegistry();
  const requests: string[] = [];
  // As many connections as the client's own Agent opens, so the bench pulls as users do.
  const dispatcher = new Agent({ connections: CONNECTIONS_PER_ORIGIN }).compose((dispatch) => (opts, handler) => {
    requests.push(`${opts.method} ${String(opts.path).split('?')[0]}`);
    return dispatch(opts, handler);
  });
  const client = createRegistryClient({ dispatcher });
  try {
    const app = await writeBenchApp(join(dir, 'app'));
    const timings = { oursPush: [] as number[], oursPull: [] as number[], skopeoPush: [] as number[], skopeoPull: [] as number[] };
    // CPU time of this process per push and pull: what shared load disturbs least.
    const cpu = { push: [] as number[], pull: [] as number[] };
    // With BENCH_WARMUP=1, round 0 warms up both clients and is not timed.
    const first = WARMUP ? 0 : 1;
    // Each round's ratios are printed with the load average, so a run can be read against the
    // load it was measured under (skopeo and this client do not slow alike under shared load).
    const loads: number[] = [];
    for (let round = first; round <= ROUNDS; round += 1) {
      if (round > 0) loads.push(loadavg()[0] ?? 0);
      const ours = `${registry.host}/bench/ours-${round}`;
      const theirs = `${registry.host}/bench/skopeo-${round}`;
      const layout = join(dir, `layout-${round}`);

      let start = performance.now();
      let cpuStart = process.cpuUsage();
      const pushed = await pushApp(app, { target: client.repository(ours), tag: 'v1', sourceDateEpoch: 0 });
      const oursPush = performance.now() - start;
      const pushCpu = cpuMs(cpuStart);

      start = performance.now();
      cpuStart = process.cpuUsage();
      const cache = openCache({ root: join(dir, `cache-${round}`) });
      const pulled = await pullArtifact({ target: client.repository(ours), reference: 'v1', store: cache, spinCacheLocation: { registry: registry.host, repository: `bench/ours-${round}`, tag: 'v1' } });
      const oursPull = performance.now() - start;
      const pullCpu = cpuMs(cpuStart);
      if (pulled.digest !== pushed.digest) throw new Error('pulled digest differs from pushed digest');

      start = performance.now();
      await exec('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ours}:v1`, `oci:${layout}:v1`]);
      const skopeoPull = performance.now() - start;

      start = performance.now();
      await exec('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${theirs}:v1`]);
      const skopeoPush = performance.now() - start;

      if (round > 0) {
        timings.oursPush.push(oursPush);
        timings.oursPull.push(oursPull);
        timings.skopeoPush.push(skopeoPush);
        timings.skopeoPull.push(skopeoPull);
        cpu.push.push(pushCpu);
        cpu.pull.push(pullCpu);
      }
      if (round === ROUNDS) {
        requests.length = 0;
        const warm = await pullArtifact({ target: client.repository(ours), reference: 'v1', store: cache, spinCacheLocation: { registry: registry.host, repository: `bench/ours-${round}`, tag: 'v1' } });
        const manifests = requests.filter((r) => r.includes('/manifests/')).length;
        const blobs = requests.filter((r) => r.includes('/blobs/')).length;
        console.log(`layers: ${pushed.packaged.manifest.layers.length}, artifact: ${(pushed.totalSize / 1024 / 1024).toFixed(1)} MiB`);
        console.log(`warm-cache pull: ${manifests} manifest request(s), ${blobs} blob request(s) (expected 1 and 0)${manifests === 1 && blobs === 0 && warm.digest === pushed.digest ? '' : '  <-- UNEXPECTED'}`);
      }
    }
    const m = (xs: number[]): number => median(xs);
    const pushRatio = m(timings.oursPush) / m(timings.skopeoPush);
    const pullRatio = m(timings.oursPull) / m(timings.skopeoPull);
    const totalRatio = (m(timings.oursPush) + m(timings.oursPull)) / (m(timings.skopeoPush) + m(timings.skopeoPull));
    const seconds = (xs: number[]): string => (m(xs) / 1000).toFixed(1);
    const spread = (ours: number[], theirs: number[]): string =>
      ours.map((x, i) => `${(x / (theirs[i] ?? NaN)).toFixed(2)} (${(x / 1000).toFixed(1)}/${((theirs[i] ?? NaN) / 1000).toFixed(1)} s)`).join(', ');
    const mark = (ratio: number, goal: number): string => `${ratio.toFixed(2)} (goal <= ${goal})${ratio <= goal ? '' : '  <-- above goal'}`;
    console.log(`push      spinel/skopeo: ${pushRatio.toFixed(2)}`);
    console.log(`pull      spinel/skopeo: ${mark(pullRatio, 0.5)}`);
    console.log(`push+pull spinel/skopeo: ${mark(totalRatio, 0.25)}, median of ${ROUNDS} round(s)`);
    console.log(`(for context, seconds: spinel push ${seconds(timings.oursPush)}, pull ${seconds(timings.oursPull)}; skopeo push ${seconds(timings.skopeoPush)}, pull ${seconds(timings.skopeoPull)})`);
    console.log(`(CPU time of this process, ms: push ${m(cpu.push).toFixed(0)}, pull ${m(cpu.pull).toFixed(0)})`);
    console.log(`(per round: push ${spread(timings.oursPush, timings.skopeoPush)}; pull ${spread(timings.oursPull, timings.skopeoPull)}; 1-minute load average ${loads.map((l) => l.toFixed(1)).join(', ')} on ${availableParallelism()} cores)`);
  } finally {
    await client.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeBenchApp(dir: string): Promise<LockedApp> {
  await mkdir(join(dir, 'static'), { recursive: true });
  await writeFile(join(dir, 'app.wasm'), Buffer.concat([Buffer.from('\0asm\u0001\0\0\0'), randomBytes(12 * 1024 * 1024)]));
  for (let i = 0; i < 300; i += 1) {
    // 0.5–4.5 KiB each: above the inline threshold, so each is a layer.
    await writeFile(join(dir, 'static', `file-${i}.txt`), randomBytes(512 + ((i * 97) % 4096)).toString('base64'));
  }
  return {
    metadata: { name: 'bench-app' },
    triggers: [{ id: 'trigger-web', trigger_type: 'http', trigger_config: { component: 'web', route: '/...' } }],
    components: [
      {
        id: 'web',
        source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, 'app.wasm')).href },
        files: [{ source: pathToFileURL(join(dir, 'static')).href, path: '/' }],
      },
    ],
  };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

await main();
