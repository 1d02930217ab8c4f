import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LockedApp } from '@spinel/manifest';
import { buildFilesGuest, watComponent } from '@spinel/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, serve, spawnUp, stopSpinel, up, type SpinelRun } from '../../test-spinel.js';
import { CoalescingWriter, followPolicy, GuestOutputPrinter } from './guest-output.js';
import { retainComponents } from './retain-components.js';
import { parseCountRange, parseDurationRange } from './reuse-flags.js';

const APP: LockedApp = {
  spin_lock_version: 1,
  triggers: [
    { id: 'a-t', trigger_type: 'http', trigger_config: { component: 'a', route: '/a' } },
    { id: 'b-t', trigger_type: 'http', trigger_config: { component: 'b', route: '/b' } },
    { id: 'static', trigger_type: 'http', trigger_config: { route: '/s', static_response: { status_code: 200 } } },
    { id: 'c-t', trigger_type: 'http', trigger_config: { component: 'c', route: '/c' } },
  ],
  components: [
    { id: 'a', source: { content_type: 'application/wasm', source: 'file:///a.wasm' }, metadata: { allowed_outbound_hosts: ['http://b.spin.internal', 'https://{{ host }}'] } },
    { id: 'b', source: { content_type: 'application/wasm', source: 'file:///b.wasm' } },
    { id: 'c', source: { content_type: 'application/wasm', source: 'file:///c.wasm' }, metadata: { allowed_outbound_hosts: ['http://*.spin.internal'] } },
  ],
};

describe('spinel up -c (Spin\'s retain_components)', () => {
  it('keeps the chosen components and their triggers only', () => {
    const app = retainComponents(APP, ['a', 'b']);
    expect(app.components.map((c) => c.id)).toEqual(['a', 'b']);
    expect(app.triggers.map((t) => t.id)).toEqual(['a-t', 'b-t']);
    expect(retainComponents(APP, ['b']).triggers.map((t) => t.id)).toEqual(['b-t']);
  });

  it('refuses an unknown id, and chaining to a component left out, with Spin\'s messages', () => {
    expect(() => retainComponents(APP, ['nope'])).toThrow(expect.objectContaining({ code: 'CLI_UNKNOWN_COMPONENT', message: 'Specified component "nope" not found in application' }));
    expect(() => retainComponents(APP, ['a'])).toThrow(
      expect.objectContaining({ message: 'Selected component \'a\' cannot use service chaining to unselected component: allowed_outbound_hosts = ["http://b.spin.internal"]' }),
    );
    expect(() => retainComponents(APP, ['c'])).toThrow(expect.objectContaining({ message: expect.stringMatching(/cannot use wildcard service chaining/) }));
  });
});

describe('Spin\'s reuse flags', () => {
  it('take a count or a range, and durations with Spin\'s units', () => {
    expect(parseCountRange('max-instance-reuse-count', '4')).toEqual({ min: 4, max: 4 });
    expect(parseCountRange('max-instance-reuse-count', '1..8')).toEqual({ min: 1, max: 8 });
    expect(() => parseCountRange('max-instance-reuse-count', '0')).toThrow(expect.objectContaining({ code: 'CLI_INVALID_FLAG' }));
    expect(() => parseCountRange('max-instance-reuse-count', '8..2')).toThrow(expect.objectContaining({ code: 'CLI_INVALID_FLAG' }));
    expect(parseDurationRange('idle-instance-timeout', '1s')).toEqual({ min: 1000, max: 1000 });
    expect(parseDurationRange('idle-instance-timeout', '2')).toEqual({ min: 2000, max: 2000 });
    expect(parseDurationRange('idle-instance-timeout', '500ms..2s')).toEqual({ min: 500, max: 2000 });
    expect(parseDurationRange('idle-instance-timeout', '250us')).toEqual({ min: 0.25, max: 0.25 });
    expect(() => parseDurationRange('idle-instance-timeout', '1 minute')).toThrow(expect.objectContaining({ code: 'CLI_INVALID_FLAG' }));
  });
});

describe('guest output on the terminal', () => {
  it('prefixes each line with the component id, holding partial lines', () => {
    const out: string[] = [];
    const printer = new GuestOutputPrinter((stream, text) => out.push(`${stream}:${text}`));
    const enc = new TextEncoder();
    printer.append('api', 'stdout', enc.encode('one\ntw'));
    printer.append('web', 'stderr', enc.encode('oops\n'));
    printer.append('api', 'stdout', enc.encode('o\nthree'));
    printer.flush();
    expect(out).toEqual(['stdout:[api] one\n', 'stderr:[web] oops\n', 'stdout:[api] two\n', 'stdout:[api] three\n']);
  });

  it('writes guest output once per turn of the event loop, in order, and at once on flush', async () => {
    const writes: string[] = [];
    const writer = new CoalescingWriter((stream, text) => writes.push(`${stream}:${text}`));
    writer.write('stdout', '[a] 1\n');
    writer.write('stderr', '[a] e\n');
    writer.write('stdout', '[a] 2\n');
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['stdout:[a] 1\n[a] 2\n', 'stderr:[a] e\n']);
    writer.write('stdout', '[a] 3\n');
    writer.flush();
    expect(writes.at(-1)).toBe('stdout:[a] 3\n');
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(3);
  });

  it('follows all components by default, none with --quiet, the named ones with --follow', () => {
    expect(followPolicy({ quiet: false, follow: [], followAll: false })('x')).toBe(true);
    expect(followPolicy({ quiet: true, follow: [], followAll: false })('x')).toBe(false);
    const some = followPolicy({ quiet: false, follow: ['a'], followAll: false });
    expect([some('a'), some('b')]).toEqual([true, false]);
    expect(followPolicy({ quiet: false, follow: ['a'], followAll: true })('b')).toBe(true);
  });
});

// `spinel up` run as a user would, with the parity flags: real components on a loopback port.
afterEach(killSpinels);

/** Waits until `read()` matches (guest output reaches the terminal shortly after the response). */
async function eventually(read: () => string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 300 && !pattern.test(read()); i++) await new Promise((r) => setTimeout(r, 100));
  expect(read()).toMatch(pattern);
}

async function stopped(s: SpinelRun): Promise<void> {
  expect(await stopSpinel(s)).toBe(0);
}

describe('spinel up with Spin\'s flags', () => {
  let dir: string;
  beforeAll(async () => {
    const [hello, counter, trap] = await Promise.all([watComponent('hello'), watComponent('counter'), watComponent('trap')]);
    dir = mkdtempSync(join(tmpdir(), 'spinel-up-parity-'));
    writeFileSync(
      join(dir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "parity"

[[trigger.http]]
route = "/hello"
component = "hello"

[[trigger.http]]
route = "/counter"
component = "counter"

[component.hello]
source = ${JSON.stringify(hello)}

[component.counter]
source = ${JSON.stringify(counter)}

[component.counter.profile.broken]
source = ${JSON.stringify(trap)}
`,
    );
  }, 180_000);

  it('shows guest output prefixed by component id (--follow), none with --quiet, and truncates logs', async () => {
    const logs = join(dir, 'logs');
    mkdirSync(logs, { recursive: true });
    writeFileSync(join(logs, 'hello_stdout.txt'), 'old line\n');
    const s = await up(['--follow', 'hello', '--log-dir', logs, '--truncate-logs', '--state-dir', ''], dir);
    expect(await (await fetch(`${s.base}/hello`)).text()).toBe('hello from wat\n');
    await eventually(s.stdout, /^\[hello\] log line from wat$/m);
    await stopped(s);
    expect(readFileSync(join(logs, 'hello_stdout.txt'), 'utf8')).toBe('log line from wat\n');

    const quiet = await up(['--quiet', '--state-dir', ''], dir);
    expect(await (await fetch(`${quiet.base}/hello`)).text()).toBe('hello from wat\n');
    await stopped(quiet);
    expect(quiet.stdout()).not.toContain('log line from wat');

    const other = await up(['--follow', 'counter', '--state-dir', ''], dir);
    await (await fetch(`${other.base}/hello`)).text();
    await stopped(other);
    expect(other.stdout()).not.toContain('log line from wat');
  }, 180_000);

  it('-c serves a subset; unknown ids in -c and --follow are refused with Spin\'s messages', async () => {
    const s = await up(['-c', 'counter', '--state-dir', ''], dir);
    expect((await fetch(`${s.base}/counter`)).status).toBe(200);
    expect((await fetch(`${s.base}/hello`)).status).toBe(404);
    await stopped(s);

    const badC = spawnUp(['-c', 'nope', '--state-dir', ''], dir);
    expect(await badC.exited).toBe(1);
    expect(badC.stderr()).toContain('Specified component "nope" not found in application');
    const badFollow = spawnUp(['--follow', 'nope', '--state-dir', ''], dir);
    expect(await badFollow.exited).toBe(1);
    expect(badFollow.stderr()).toContain('The following component(s) specified in --follow do not exist in the application:\n  - nope');
  }, 120_000);

  it('maps --max-instance-reuse-count onto instance reuse, and accepts Spin\'s pooling, cache and debug flags', async () => {
    const s = await up(
      ['--max-instance-reuse-count', '2..3', '--max-instance-concurrent-reuse-count', '1', '--idle-instance-timeout', '1s', '--disable-pooling', '--disable-cache', '--debug-info', '--workers', '1', '--state-dir', ''],
      dir,
    );
    const counts = [];
    for (let i = 0; i < 4; i++) counts.push(await (await fetch(`${s.base}/counter`)).text());
    // The upper bound of the range: one instance serves 3 requests, then a fresh one starts at 1.
    expect(counts).toEqual(['1', '2', '3', '1']);
    await stopped(s);

    const bad = spawnUp(['--max-instance-reuse-count', '0', '--state-dir', ''], dir);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/Invalid --max-instance-reuse-count '0'[\s\S]*CLI_INVALID_FLAG/);
  }, 120_000);

  it('--profile runs a profile\'s component source; an unknown profile is refused', async () => {
    const s = await up(['--profile', 'broken', '--state-dir', ''], dir);
    expect((await fetch(`${s.base}/counter`)).status).toBe(500);
    await stopped(s);
    const bad = spawnUp(['--profile', 'nope', '--state-dir', ''], dir);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toContain('Profile nope is not defined in this application');

    // `spinel build --up --profile` serves the profile it built.
    const built = await serve(['build', '--up', '--profile', 'broken', '--', '--listen', '127.0.0.1:0', '--state-dir', ''], dir);
    expect((await fetch(`${built.base}/counter`)).status).toBe(500);
    await stopped(built);
  }, 120_000);

  it('reads RUNTIME_CONFIG_FILE as Spin does, and says when -f is taken as a registry reference', async () => {
    const missing = spawnUp(['--state-dir', ''], dir, { ...process.env, RUNTIME_CONFIG_FILE: join(dir, 'no-such-runtime-config.toml') });
    expect(await missing.exited).not.toBe(0);
    expect(missing.stderr()).toContain('no-such-runtime-config.toml');

    // A loopback port with nothing listening: the pull fails fast, after the notice.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as AddressInfo;
        server.close(() => resolve(p));
      });
    });
    const ref = spawnUp(['-f', `127.0.0.1:${port}/nope/app:1`, '--insecure'], dir);
    expect(await ref.exited).toBe(1);
    expect(ref.stderr()).toMatch(new RegExp(`^'127\\.0\\.0\\.1:${port}/nope/app:1' is not a file or directory here: treating it as a registry reference\\.\\n`));
  }, 120_000);
});

describe('spinel up --allow-transient-write', () => {
  let dir: string;
  beforeAll(async () => {
    const guest = await buildFilesGuest();
    dir = mkdtempSync(join(tmpdir(), 'spinel-up-transient-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'assets', 'seed.txt'), 'seed');
    writeFileSync(
      join(dir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "transient"

[[trigger.http]]
route = "/..."
component = "files"

[component.files]
source = ${JSON.stringify(guest)}
files = [{ source = "assets", destination = "/" }]
`,
    );
  }, 900_000);

  const op = async (base: string, query: Record<string, string>): Promise<unknown> => (await fetch(`${base}/?${new URLSearchParams(query).toString()}`)).json();

  it('lets a guest write to copies of its mounts (even with --direct-mounts), never to the app\'s files; without it writes are read-only', async () => {
    for (const extra of [[], ['--direct-mounts']]) {
      const s = await up(['--allow-transient-write', '--state-dir', '', ...extra], dir);
      expect(await op(s.base, { op: 'write', path: 'seed.txt', text: 'changed' })).toEqual({ ok: '7' });
      expect(await op(s.base, { op: 'write', path: 'new.txt', text: 'new' })).toEqual({ ok: '3' });
      expect(await op(s.base, { op: 'read', path: 'seed.txt' })).toEqual({ ok: 'changed' });
      expect(await op(s.base, { op: 'write', path: '../escaped.txt', text: 'x' })).toEqual({ err: 'not-permitted' });
      await stopped(s);
      expect(readdirSync(join(dir, 'assets'))).toEqual(['seed.txt']);
      expect(readFileSync(join(dir, 'assets', 'seed.txt'), 'utf8')).toBe('seed');
      expect(readdirSync(dir).sort()).toEqual(['assets', 'spin.toml']);
    }
    const plain = await up(['--state-dir', ''], dir);
    expect(await op(plain.base, { op: 'write', path: 'new.txt', text: 'new' })).toEqual({ err: 'read-only' });
    expect(await op(plain.base, { op: 'read', path: 'seed.txt' })).toEqual({ ok: 'seed' });
    await stopped(plain);
  }, 300_000);
});
