import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsComponent, wagiModule, watComponent } from '@spinel/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killSpinels, up } from '../../test-spinel.js';

afterEach(killSpinels);

describe('spinel up with real components', () => {
  let hello: string;
  let trap: string;
  let echo: string;
  beforeAll(async () => {
    [hello, trap, echo] = await Promise.all([watComponent('hello'), watComponent('trap'), wagiModule('echo')]);
  }, 180_000);

  it('serves a bare .wasm component on /...', async () => {
    const s = await up(['-f', hello, '--state-dir', ''], tmpdir());
    expect(s.output()).toMatch(/Available Routes:\n {2}[a-z0-9-]+: http:\/\/127\.0\.0\.1:\d+ \(wildcard\)\n/);
    for (const path of ['/', '/any/path?x=1']) {
      const res = await fetch(`${s.base}${path}`);
      expect([res.status, res.headers.get('x-fixture'), await res.text()]).toEqual([200, 'wat', 'hello from wat\n']);
    }
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('serves a componentize-js component with a fresh instance per request (a guest counter reads 1 every time)', async () => {
    const js = await jsComponent('fetch-event');
    const s = await up(['-f', js, '--state-dir', ''], tmpdir());
    const hello = await fetch(`${s.base}/`);
    expect([hello.status, hello.headers.get('x-hello'), await hello.text()]).toEqual([200, 'yes', 'hello from js']);
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push(await (await fetch(`${s.base}/counter`)).text());
    expect(counts).toEqual(['1', '1', '1']);
    const echoed = await fetch(`${s.base}/echo`, { method: 'POST', body: 'round trip' });
    expect(await echoed.text()).toBe('round trip');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 300_000);

  it('routes a manifest app to wasi:http and WAGI components; a trap fails only its request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spinel-up-app-'));
    writeFileSync(
      join(dir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "mixed"

[[trigger.http]]
route = "/..."
component = "hello"

[[trigger.http]]
route = "/trap"
component = "trap"

[[trigger.http]]
route = "/cgi/:who/..."
component = "cgi"
executor = { type = "wagi" }

[component.hello]
source = ${JSON.stringify(hello)}

[component.trap]
source = ${JSON.stringify(trap)}

[component.cgi]
source = ${JSON.stringify(echo)}
environment = { GREETING = "hi" }
`,
    );
    const s = await up(['-e', 'EXTRA=1'], dir);
    expect(s.output()).toContain('Logging component stdio to ".spin/logs/"');
    const failed = await fetch(`${s.base}/trap`);
    expect([failed.status, await failed.text()]).toEqual([500, '']);
    const ok = await fetch(`${s.base}/after`);
    expect(await ok.text()).toBe('hello from wat\n');
    const cgi = await fetch(`${s.base}/cgi/bob/x/y?a=1&b=2`, { method: 'POST', body: 'the body' });
    expect(cgi.status).toBe(200);
    const [env, argv, stdin] = (await cgi.text()).split('--\n') as [string, string, string];
    const vars = new Map(env.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    expect(vars.get('PATH_INFO')).toBe('/x/y');
    expect(vars.get('X_PATH_MATCH_WHO')).toBe('bob');
    expect(vars.get('SCRIPT_NAME')).toBe('/cgi/:who');
    expect(vars.get('QUERY_STRING')).toBe('a=1&b=2');
    expect(vars.get('REQUEST_METHOD')).toBe('POST');
    expect([vars.get('GREETING'), vars.get('EXTRA')]).toEqual(['hi', '1']);
    expect(argv.trim().split('\n')).toEqual(['/cgi/bob/x/y', 'a=1', 'b=2']);
    expect(stdin).toBe('the body');
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
  });

  it('exits 0 within --shutdown-timeout after SIGTERM, with memory bombs and endless loops in flight', async () => {
    const [loop, bomb] = await Promise.all([watComponent('loop'), watComponent('memory-bomb')]);
    const dir = mkdtempSync(join(tmpdir(), 'spinel-up-shutdown-'));
    writeFileSync(
      join(dir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "hostile"

[[trigger.http]]
route = "/loop"
component = "loop"

[[trigger.http]]
route = "/bomb"
component = "bomb"

[component.loop]
source = ${JSON.stringify(loop)}

[component.bomb]
source = ${JSON.stringify(bomb)}
`,
    );
    // No request timeout: the loops would run forever; only the shutdown grace ends them. The
    // memory cap keeps each bomb short: V8 cannot stop a thread inside a wasm loop that keeps
    // growing memory, so an uncapped bomb in flight delays the exit until its growth fails.
    const s = await up(['--workers', '2', '--shutdown-timeout', '2s', '--max-instance-memory', String(32 * 1024 * 1024), '--state-dir', ''], dir);
    const answers: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) answers.push(fetch(`${s.base}/bomb`).then((r) => r.status, () => 'cut'));
    expect(new Set(await Promise.all(answers.splice(0)))).toEqual(new Set([500]));
    for (let i = 0; i < 8; i++) answers.push(fetch(`${s.base}/loop`).then((r) => r.status, () => 'cut'));
    for (let i = 0; i < 20; i++) answers.push(fetch(`${s.base}/bomb`).then((r) => r.status, () => 'cut'));
    await new Promise((r) => setTimeout(r, 1_000));
    const signalled = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    // The 2 s grace, plus the process's own teardown on a busy machine.
    expect(Date.now() - signalled).toBeLessThan(7_000);
    await Promise.all(answers);
  }, 180_000);

  it('caps instance memory by default: memory bombs get 500 fast, a healthy component keeps answering, SIGTERM with bombs in flight exits within the grace', async () => {
    const bomb = await watComponent('memory-bomb');
    const dir = mkdtempSync(join(tmpdir(), 'spinel-up-bomb-'));
    writeFileSync(
      join(dir, 'spin.toml'),
      `spin_manifest_version = 2
[application]
name = "bombs"

[[trigger.http]]
route = "/bomb"
component = "bomb"

[[trigger.http]]
route = "/hello"
component = "hello"

[component.bomb]
source = ${JSON.stringify(bomb)}

[component.hello]
source = ${JSON.stringify(hello)}
`,
    );
    // No --max-instance-memory: uncapped, one bomb held its worker 36-60 s (V8 cannot stop a
    // thread whose memory.grow keeps succeeding) and the process could not exit sooner.
    const s = await up(['--workers', '2', '--shutdown-timeout', '2s', '--state-dir', ''], dir);
    const started = Date.now();
    const bombs = Array.from({ length: 4 }, () => fetch(`${s.base}/bomb`).then((r) => r.status, () => 'cut'));
    const healthy = await fetch(`${s.base}/hello`);
    expect([healthy.status, await healthy.text()]).toEqual([200, 'hello from wat\n']);
    expect(await Promise.all(bombs)).toEqual([500, 500, 500, 500]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(s.output()).toMatch(/Error processing request: Component "bomb" failed/);
    const inFlight = [fetch(`${s.base}/bomb`).catch(() => 'cut'), fetch(`${s.base}/bomb`).catch(() => 'cut')];
    await new Promise((r) => setTimeout(r, 200));
    const signalled = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    // The 2 s grace, plus the process's own teardown on a busy machine.
    expect(Date.now() - signalled).toBeLessThan(10_000);
    await Promise.all(inFlight);
  }, 180_000);
});
