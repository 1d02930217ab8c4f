import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The newcomer script: from an empty directory to a key-value-backed app answering over HTTP,
// typed as a new user would, with only `spinel` commands and `npm install` (from the npm
// registry: this test needs it and says so when it is unreachable). The time it takes is
// printed, not asserted: it depends on the network and the machine's load.
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const execP = promisify(execFile);

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function registryReachable(): Promise<boolean> {
  try {
    await execP('npm', ['ping'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

function sh(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('newcomer', () => {
  it('empty directory → spinel new → npm install → spinel build → spinel up answers from a KV-backed app', { timeout: 1_800_000 }, async (ctx) => {
    if (!(await registryReachable())) {
      console.warn('newcomer: the npm registry is unreachable (npm ping failed); skipping');
      ctx.skip();
    }
    const root = mkdtempSync(join(tmpdir(), 'spinel-newcomer-'));
    roots.push(root);
    // `spinel` on PATH, as an installed CLI would be.
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'spinel'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
    chmodSync(join(bin, 'spinel'), 0o755);
    const work = join(root, 'work');
    mkdirSync(work);
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, SPINEL_DATA_DIR: join(root, 'data'), npm_config_cache: join(root, 'npm-cache') };

    const times: Record<string, number> = {};
    const step = async (name: string, script: string, cwd: string): Promise<void> => {
      const started = Date.now();
      const r = await sh(script, cwd, env);
      times[name] = (Date.now() - started) / 1000;
      if (r.code !== 0) throw new Error(`newcomer step '${name}' failed (${script}):\n${r.output.slice(-4000)}`);
    };
    const started = Date.now();
    await step('new', 'spinel new -t http-ts hello --accept-defaults', work);
    const app = join(work, 'hello');
    await step('npm install', 'npm install --no-audit --no-fund', app);
    await step('build', 'spinel build', app);

    const upStarted = Date.now();
    const up = spawn('bash', ['-c', 'exec spinel up --listen 127.0.0.1:0'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout.on('data', (c: Buffer) => (out += c.toString()));
    up.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      let base: string | undefined;
      for (let i = 0; i < 1200 && base === undefined; i++) {
        base = /Serving (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out)?.[1];
        if (base === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      if (base === undefined) throw new Error(`spinel up did not start:\n${out}`);
      const hello = await fetch(`${base}/`);
      expect([hello.status, await hello.text()]).toEqual([200, 'Hello from hello!\n']);
      times['up → 200'] = (Date.now() - upStarted) / 1000;
      expect(await (await fetch(`${base}/count`)).text()).toBe('{"count":1}\n');
      expect(await (await fetch(`${base}/count`)).text()).toBe('{"count":2}\n');
    } finally {
      up.kill('SIGINT');
    }
    const total = (Date.now() - started) / 1000;
    console.log(`newcomer: ${total.toFixed(1)} s from an empty directory to a KV-backed answer (${Object.entries(times).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')})`);
  });
});
