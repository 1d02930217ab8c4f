// Test helpers: apps pushed to a real registry, the built runner started as a child process
// (its JSON log lines parsed), a load generator that records every request, and a TCP relay
// that stands in for a registry going up and down.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KV_WIT_DIR, KV_WIT_PACKAGES } from '@spinel/kv-wit';
import { componentizeJs, fixtureCacheDir, fixtureWitDir, watComponent, type WatComponentName } from '@spinel/test-utils';

/** The runner's bin (built: `pnpm build` first). */
export const RUNNER_BIN = fileURLToPath(new URL('../bin/spinel-runner.js', import.meta.url));

/** Writes an app whose one component (a WAT fixture) answers `/...`, plus a static `/static` route; returns its spin.toml path. */
export async function writeWatApp(dir: string, component: WatComponentName, name = 'runner-test'): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile(await watComponent(component), join(dir, `${component}.wasm`));
  const manifest = `spin_manifest_version = 2

[application]
name = "${name}"
version = "1.0.0"

[[trigger.http]]
route = "/..."
component = "web"

[[trigger.http]]
route = "/static"
static_response = { status_code = 200, body = "static ${component}\\n" }

[component.web]
source = "${component}.wasm"
`;
  const path = join(dir, 'spin.toml');
  await writeFile(path, manifest);
  return path;
}

/** Locks `manifestPath` and pushes it to `reference` (registry or `oci:` layout), with Basic credentials if given; returns the manifest digest. */
export async function pushManifest(manifestPath: string, reference: string, login?: { registry: string; username: string; password: string }): Promise<string> {
  const { lockManifestFile } = await import('@spinel/manifest');
  const { openTarget, pushApp, staticCredentials } = await import('@spinel/oci');
  const work = await mkdtemp(join(tmpdir(), 'spinel-runner-push-'));
  try {
    const app = await lockManifestFile(manifestPath, { workingDir: work });
    const credentials = login === undefined ? undefined : staticCredentials({ [login.registry]: { kind: 'basic', username: login.username, password: login.password } });
    const target = await openTarget(reference, { cwd: work, create: true, ...(credentials === undefined ? {} : { clientOptions: { credentials } }) });
    try {
      const pushed = await pushApp(app, { target: target.target, ...(target.tag === undefined ? {} : { tag: target.tag }) });
      return pushed.digest;
    } finally {
      await target.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Overwrites a blob in the registry's storage with other bytes of the same size (the registry then serves content that does not match its digest). */
export async function corruptRegistryBlob(storageDir: string, digest: string): Promise<void> {
  const hex = digest.slice('sha256:'.length);
  const file = join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  const bytes = await readFile(file);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
}

/** The digests of the layers of a pushed manifest (by its digest), read from the registry. */
export async function manifestLayers(registryUrl: string, repository: string, digest: string): Promise<Array<{ digest: string; mediaType: string }>> {
  const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const manifest = (await res.json()) as { layers: Array<{ digest: string; mediaType: string }> };
  return manifest.layers;
}

/** A JSON log line of the runner. */
export interface LogEvent {
  time: string;
  level: string;
  event: string;
  msg: string;
  [field: string]: unknown;
}

/** A runner started as a child process. */
export interface RunnerProcess {
  child: ChildProcess;
  events: LogEvent[];
  /** Everything written to stderr. */
  stderr(): string;
  /** Resolves with the first event named `name` (matching `where`), waiting for it if needed. */
  waitFor(name: string, options?: { where?: (e: LogEvent) => boolean; timeoutMs?: number; after?: number }): Promise<LogEvent>;
  /** Admin URL, from the `runner.started` event. */
  adminUrl(): Promise<string>;
  /** App URL, from the `app.serving` event. */
  appUrl(): Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Kills it if still running (SIGKILL after 10 s of SIGTERM). */
  stop(): Promise<void>;
}

/** Starts the built runner with loopback listeners on free ports, JSON logs, and `args`. */
export function startRunner(args: string[], env: Record<string, string | undefined> = {}): RunnerProcess {
  const child = spawn(process.execPath, [RUNNER_BIN, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-format', 'json', ...args], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: LogEvent[] = [];
  const waiters: Array<() => void> = [];
  let err = '';
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as LogEvent);
      } catch {
        events.push({ time: '', level: 'raw', event: 'raw', msg: line });
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    resolve(code);
    for (const w of waiters.splice(0)) w();
  }));
  const waitFor: RunnerProcess['waitFor'] = async (name, options = {}) => {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const found = events.slice(options.after ?? 0).find((e) => e.event === name && (options.where?.(e) ?? true));
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the runner exited (${child.exitCode ?? child.signalCode}) before '${name}'; stderr: ${err}; events: ${events.map((e) => `${e.event}: ${e.msg}`).join(' | ')}`);
      }
      if (Date.now() > deadline) throw new Error(`no '${name}' event; events: ${events.map((e) => `${e.event}: ${e.msg}`).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return {
    child,
    events,
    stderr: () => err,
    waitFor,
    adminUrl: async () => String((await waitFor('runner.started')).admin_url),
    // Pulling and preparing (a first transpile into a fresh cache) is slow on a loaded machine.
    appUrl: async () => String((await waitFor('app.serving', { timeoutMs: 240_000 })).url),
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A plain GET: status, body text and headers. */
export async function get(url: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `url` until it answers `status` (connection errors count as not yet). */
export async function waitForStatus(url: string, status: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await get(url).then((r) => r.status, () => 0);
    if (got === status) return;
    if (Date.now() > deadline) throw new Error(`${url} answered ${got}, not ${status}, for ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One request made by {@link startLoad}. */
export interface LoadRecord {
  sentAt: number;
  doneAt: number;
  status: number;
  body: string;
  error?: string;
}

/** Load on a URL from `connections` keep-alive connections, each sending its next request as soon as the last answered. */
export interface Load {
  records: LoadRecord[];
  /** Resolves once `count` more requests have been answered (however long a loaded machine takes). */
  answered(count: number): Promise<void>;
  /** Stops sending; resolves when every request in flight has finished. */
  stop(): Promise<void>;
}

/** Starts `connections` request loops against `url` (HTTP/1.1 keep-alive), recording every request. */
export function startLoad(url: string, connections = 20): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const records: LoadRecord[] = [];
  let running = true;
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const record: LoadRecord = { sentAt: performance.now(), doneAt: 0, status: 0, body: '' };
      records.push(record);
      const req = request(url, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          record.status = res.statusCode ?? 0;
          record.body = Buffer.concat(chunks).toString('utf8');
          record.doneAt = performance.now();
          resolve();
        });
        res.on('error', (e) => {
          record.error = e.message;
          record.doneAt = performance.now();
          resolve();
        });
      });
      req.on('error', (e) => {
        record.error = (e as NodeJS.ErrnoException).code ?? e.message;
        record.doneAt = performance.now();
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: connections }, async () => {
    while (running) {
      await once();
      const last = records.at(-1);
      // After the server went away, do not spin on refused connections.
      if (last?.error !== undefined) await new Promise((r) => setTimeout(r, 20));
    }
  });
  const done = (): number => records.filter((r) => r.doneAt > 0 && r.error === undefined).length;
  return {
    records,
    async answered(count) {
      const target = done() + count;
      while (done() < target) {
        if (!running) throw new Error('the load was stopped');
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/**
 * A loopback port nothing listens on, below the kernel's ephemeral range. A relay that is down
 * leaves its port unbound for a while; an ephemeral port (another test's `listen(0)`, or the
 * runner's own outgoing connection meeting itself, a TCP self-connect) could take it meanwhile,
 * and the runner would then talk to a stranger instead of being refused. Ports below the range
 * are never handed out that way.
 */
async function freePortBelowEphemeral(): Promise<number> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const low = Math.max(2048, Number(range.trim().split(/\s+/)[0]) || 32768);
  const from = Math.max(1024, low - 12_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (low - from));
    const probe = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      return port;
    }
  }
  throw new Error(`no free loopback port found below the ephemeral range (${range.trim()})`);
}

/** A TCP relay on a fixed loopback port to a target port, that can be switched off (connections refused and cut) and on again. */
export interface Relay {
  port: number;
  /** Starts accepting and relaying. */
  up(): Promise<void>;
  /** Stops accepting and cuts every relayed connection. */
  down(): Promise<void>;
  close(): Promise<void>;
}

/** A relay to `127.0.0.1:targetPort`, down until {@link Relay.up}. */
export async function createRelay(targetPort: number): Promise<Relay> {
  const port = await freePortBelowEphemeral();
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const relay: Relay = {
    port,
    async up() {
      if (server !== undefined) return;
      server = createServer((client) => {
        const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
        sockets.add(client);
        sockets.add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async down() {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    close: () => relay.down(),
  };
  return relay;
}

const COUNTER_GUEST = `import { open } from 'wasi:keyvalue/store@0.2.0-draft2';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft2';
const dec = new TextDecoder();
addEventListener('fetch', (event) => {
  const path = new URL(event.request.url).pathname;
  const bucket = open('shared');
  if (path === '/increment') {
    event.respondWith(new Response(String(increment(bucket, 'counter', 1n))));
    return;
  }
  const value = bucket.get('counter');
  event.respondWith(new Response(value === undefined ? 'none' : String(new DataView(value.buffer, value.byteOffset, 8).getBigInt64(0, true))));
});
`;

/**
 * A JS component (componentize-js) that increments a counter in the key-value store `shared`
 * with wasi:keyvalue atomics on `/increment` (answering the new value) and reads it on any
 * other path; built once and cached with the other fixtures.
 */
export async function counterComponent(): Promise<string> {
  const kvDir = join(KV_WIT_DIR, KV_WIT_PACKAGES.wasiKeyvalue);
  const kvFiles = (await readdir(kvDir)).filter((f) => f.endsWith('.wit')).sort();
  const kvSources = await Promise.all(kvFiles.map((f) => readFile(join(kvDir, f), 'utf8')));
  const key = createHash('sha256').update(COUNTER_GUEST + kvSources.join('\n')).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `runner-kv-counter-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-runner-guest-'));
  try {
    const wit = join(work, 'wit');
    await cp(await fixtureWitDir('0.2.10'), wit, { recursive: true });
    await mkdir(join(wit, 'deps', 'wasi-keyvalue'), { recursive: true });
    await Promise.all(kvFiles.map((f, i) => writeFile(join(wit, 'deps', 'wasi-keyvalue', f), kvSources[i] ?? '')));
    const world = await readFile(join(wit, 'world.wit'), 'utf8');
    await writeFile(
      join(wit, 'world.wit'),
      `${world}\nworld kv-counter {\n  include wasi:http/proxy@0.2.10;\n  import wasi:keyvalue/store@0.2.0-draft2;\n  import wasi:keyvalue/atomics@0.2.0-draft2;\n}\n`,
    );
    await writeFile(join(work, 'index.js'), COUNTER_GUEST);
    await mkdir(fixtureCacheDir(), { recursive: true });
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: wit, world: 'kv-counter', out: `${out}.${process.pid}.tmp` });
    await cp(`${out}.${process.pid}.tmp`, out);
    await rm(`${out}.${process.pid}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const FETCH_GUEST = `addEventListener('fetch', (event) => event.respondWith((async () => {
  const target = event.request.headers.get('x-target');
  console.log('fetching ' + target);
  console.error('a line on stderr');
  try {
    const res = await fetch(target);
    return new Response('status=' + res.status + ' body=' + (await res.text()));
  } catch (e) {
    return new Response('fetch failed: ' + e, { status: 502 });
  }
})()));
`;

/**
 * A JS component (componentize-js) that fetches the URL in its request's `x-target` header
 * (answering `status=… body=…`, or 502 when refused) and writes one line to stdout and one to
 * stderr per request; built once and cached with the other fixtures.
 */
export async function fetchComponent(): Promise<string> {
  const key = createHash('sha256').update(FETCH_GUEST).digest('hex').slice(0, 16);
  const out = join(fixtureCacheDir(), `runner-fetch-${key}.wasm`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'spinel-runner-guest-'));
  try {
    await writeFile(join(work, 'index.js'), FETCH_GUEST);
    await mkdir(fixtureCacheDir(), { recursive: true });
    await componentizeJs({ sourcePath: join(work, 'index.js'), witDir: await fixtureWitDir('0.2.10'), world: 'http-handler', out: `${out}.${process.pid}.tmp` });
    await cp(`${out}.${process.pid}.tmp`, out);
    await rm(`${out}.${process.pid}.tmp`, { force: true });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
