/**
 * R6 — sandbox and SSRF refusals, through the CLI as a user meets them: files linked out of the
 * app, sources that are devices or pipes, a manifest key 50,000 parts deep, tampered cache
 * entries (a cached blob and a transpiled module, same size), and hostile HTTP (smuggling, two
 * Host headers, CONNECT, oversized headers). A pass means each is refused (coded error, or the
 * HTTP answer RFC 9112 asks for) and nothing tampered is ever served.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, watComponent } from '@spinel/test-utils';
import { spinel, startUp } from './spinel-cli.js';
import type { RunningUp } from './spinel-cli.js';
import { result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';

interface Check {
  readonly name: string;
  /** A problem, or undefined when the refusal holds. */
  run(): Promise<string | undefined>;
}

const HELLO = 'hello from wat\n';

function manifest(extra: string, source = 'hello.wasm'): string {
  return `spin_manifest_version = 2\n[application]\nname = "r6"\n[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n[component.web]\nsource = "${source}"\n${extra}`;
}

/** Sends raw bytes, returns what came back before the server closed or 5 s passed. */
function raw(baseUrl: string, request: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let got = '';
    const done = (): void => {
      socket.destroy();
      resolve(got);
    };
    socket.setTimeout(5000, done);
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('close', done);
    socket.on('error', done);
    socket.write(request);
  });
}

const status = (answer: string): number | undefined => {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
  return m === null ? undefined : Number(m[1]);
};

/** Flips one byte in place: same size, same file. */
async function flip(path: string, at: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, at);
    one[0] = (one[0] as number) ^ 0x20;
    await handle.write(one, 0, 1, at);
  } finally {
    await handle.close();
  }
}

export const r6: Suite = {
  id: 'R6',
  title: 'sandbox and SSRF refusals',
  proves: 'files linked out of the app, device and pipe sources, over-deep manifest keys, tampered cache blobs and transpiled modules, and hostile HTTP (smuggling, two Host headers, CONNECT, oversized headers) are each refused through the CLI, and nothing tampered is served',
  async run(profile: Profile): Promise<SuiteResult> {
    void profile; // One profile: every check is a single refusal, seconds each.
    const root = await mkdtemp(join(tmpdir(), 'spinel-r6-'));
    const hello = await watComponent('hello');
    const env = { ...process.env, SPINEL_CACHE_DIR: join(root, 'cache'), XDG_CONFIG_HOME: join(root, 'config'), DOCKER_CONFIG: join(root, 'docker') };
    const app = async (name: string, extra: string, source?: string): Promise<string> => {
      const dir = join(root, name);
      await mkdir(join(dir, 'static'), { recursive: true });
      await copyFile(hello, join(dir, 'hello.wasm'));
      await writeFile(join(dir, 'static', 'index.txt'), 'inside');
      await writeFile(join(dir, 'spin.toml'), manifest(extra, source));
      return dir;
    };
    /** `spinel up` must refuse to start, with `code` in what it printed. */
    const upRefuses = async (dir: string, code: string): Promise<string | undefined> => {
      const r = await spinel(['up', '-f', dir, '--listen', '127.0.0.1:0', '--state-dir', ''], { cwd: dir, env, timeoutMs: 60_000 });
      const out = r.stdout + r.stderr;
      if (r.code === 0 || /Serving http/.test(out)) return `spinel up started (exit ${String(r.code)})`;
      return out.includes(code) ? undefined : `refused without ${code}: ${out.trim().split('\n').slice(0, 3).join(' / ')}`;
    };
    let up: RunningUp | undefined;
    const registry = await startRegistry();
    try {
      const outside = join(root, 'outside');
      await mkdir(outside, { recursive: true });
      await writeFile(join(outside, 'secret.txt'), 'outside secret');
      const files = 'files = [{ source = "static", destination = "/" }]\n';
      const checks: Check[] = [
        {
          name: 'files: a directory link to /etc',
          run: async () => {
            const dir = await app('abs-link', files);
            await symlink('/etc', join(dir, 'static', 'etc-link'));
            return upRefuses(dir, 'MANIFEST_FILES_LINK_OUTSIDE_APP');
          },
        },
        {
          name: 'files: a relative link chain climbing out',
          run: async () => {
            const dir = await app('chain-link', files);
            await symlink('hop2', join(dir, 'static', 'hop1'));
            await symlink('../../outside/secret.txt', join(dir, 'static', 'hop2'));
            return upRefuses(dir, 'MANIFEST_FILES_LINK_OUTSIDE_APP');
          },
        },
        {
          name: 'registry push: a file linked out of the app',
          run: async () => {
            const dir = await app('push-link', files);
            await symlink(join(outside, 'secret.txt'), join(dir, 'static', 'pw'));
            const r = await spinel(['registry', 'push', '-f', dir, `${registry.host}/r6/link:v1`], { cwd: dir, env, timeoutMs: 60_000 });
            const out = r.stdout + r.stderr;
            if (r.code === 0) return 'the push succeeded';
            return /LINK_OUTSIDE/.test(out) ? undefined : `refused without a link code: ${out.trim().split('\n')[0]}`;
          },
        },
        {
          name: 'source: ../../../../dev/zero',
          run: async () => upRefuses(await app('dev-zero', '', '../../../../../../../../dev/zero'), 'MANIFEST_NOT_REGULAR_FILE'),
        },
        {
          name: 'source: a FIFO (no writer)',
          run: async () => {
            const dir = await app('fifo', '', 'pipe.wasm');
            execFileSync('mkfifo', [join(dir, 'pipe.wasm')]);
            return upRefuses(dir, 'MANIFEST_NOT_REGULAR_FILE');
          },
        },
        {
          name: 'manifest: a table header 50,000 parts deep',
          run: async () => {
            const dir = await app('deep', `[${Array.from({ length: 50_000 }, () => 'a').join('.')}]\nx = 1\n`);
            return upRefuses(dir, 'MANIFEST_KEY_TOO_DEEP');
          },
        },
        {
          name: 'cache: a pulled blob flipped in place (same size)',
          run: async () => {
            const dir = await app('pushed', '');
            const ref = `${registry.host}/r6/app:v1`;
            const pushed = await spinel(['registry', 'push', '-f', dir, ref], { cwd: dir, env, timeoutMs: 120_000 });
            if (pushed.code !== 0) return `push failed: ${pushed.stderr.trim().split('\n')[0]}`;
            const first = await startUp(['-f', ref, '--listen', '127.0.0.1:0', '--state-dir', ''], { cwd: dir, env });
            await (await fetch(`${first.baseUrl}/`)).text();
            await first.stop();
            const wasm = await readFile(hello);
            const blob = join(root, 'cache', 'registry', 'wasm', `sha256:${createHash('sha256').update(wasm).digest('hex')}`);
            await flip(blob, (await readFile(blob)).indexOf('hello from wat'));
            const second = await startUp(['-f', ref, '--listen', '127.0.0.1:0', '--state-dir', ''], { cwd: dir, env });
            try {
              const text = await (await fetch(`${second.baseUrl}/`)).text();
              return text === HELLO ? undefined : `served ${JSON.stringify(text)}`;
            } finally {
              await second.stop();
            }
          },
        },
        {
          name: 'cache: a transpiled core module flipped in place (same size)',
          run: async () => {
            const dir = await app('transpiled', '');
            const first = await startUp(['-f', dir, '--listen', '127.0.0.1:0', '--state-dir', ''], { cwd: dir, env });
            await (await fetch(`${first.baseUrl}/`)).text();
            await first.stop();
            const derived = join(root, 'cache', 'derived');
            let flipped = 0;
            for (const entry of await readdir(derived)) {
              if (!entry.startsWith('jco-transpile-')) continue;
              for (const name of await readdir(join(derived, entry))) {
                if (!name.endsWith('.wasm')) continue;
                const path = join(derived, entry, name);
                const at = (await readFile(path)).indexOf('hello from wat');
                if (at >= 0) {
                  await flip(path, at);
                  flipped++;
                }
              }
            }
            if (flipped === 0) return 'found no transpiled module holding the response text to tamper with';
            const second = await startUp(['-f', dir, '--listen', '127.0.0.1:0', '--state-dir', ''], { cwd: dir, env });
            try {
              const text = await (await fetch(`${second.baseUrl}/`)).text();
              return text === HELLO ? undefined : `served ${JSON.stringify(text)}`;
            } finally {
              await second.stop();
            }
          },
        },
        {
          name: 'HTTP: Content-Length with Transfer-Encoding (smuggling)',
          run: async () => {
            const got = status(await raw(up!.baseUrl, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
            return got === 400 ? undefined : `answered ${String(got ?? 'nothing')}, not 400`;
          },
        },
        {
          name: 'HTTP: headers over the limit',
          run: async () => {
            const got = status(await raw(up!.baseUrl, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(200_000)}\r\n\r\n`));
            return got === 431 || got === 400 ? undefined : `answered ${String(got ?? 'nothing')}, not 431`;
          },
        },
        {
          name: 'HTTP: two Host headers (RFC 9112: 400)',
          run: async () => {
            const got = status(await raw(up!.baseUrl, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'));
            return got === 400 ? undefined : `answered ${String(got ?? 'nothing')}, not 400`;
          },
        },
        {
          name: 'HTTP: CONNECT gets an answer',
          run: async () => {
            // Routed like "/" as Spin's router sees its empty path: any HTTP answer holds; a
            // socket closed without one (what node's server does by itself) does not.
            const answer = await raw(up!.baseUrl, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
            const got = status(answer);
            return got !== undefined ? undefined : 'answered nothing (socket closed)';
          },
        },
      ];
      const served = await app('served', '');
      up = await startUp(['-f', served, '--listen', '127.0.0.1:0', '--state-dir', ''], { cwd: served, env });
      const problems: string[] = [];
      let held = 0;
      for (const check of checks) {
        const problem = await check.run().catch((err: unknown) => `could not run: ${(err as Error).message.split('\n')[0]}`);
        if (problem === undefined) held++;
        else problems.push(`${check.name}: ${problem}`);
      }
      // The served app still answers after the hostile requests.
      const after = await fetch(`${up.baseUrl}/`).then(async (r) => r.text(), () => '');
      if (after !== HELLO) problems.push(`the server no longer answers after the hostile requests (${JSON.stringify(after)})`);
      return result(this, `${held}/${checks.length} refusals hold, ${problems.length} broken`, problems);
    } finally {
      await up?.stop();
      await registry.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
