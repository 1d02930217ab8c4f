// deploy/Dockerfile, checked without a Docker engine (there is none here): it parses and
// lints clean; the runtime stage agrees with the runner's defaults and with the manifests of
// `spinel kube scaffold` (user, writable paths, ports, probes); the build stage's deploy step
// runs for real, and the directory it makes serves an app from a registry as the image's
// user, with only the cache, the state and a temporary directory writable.
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRegistry, type TestRegistry } from '@spinel/test-utils';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from './config.js';
import { get, pushManifest, waitForStatus, writeWatApp } from './test-helpers.js';

const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DOCKERFILE = join(REPO, 'deploy', 'Dockerfile');
const CLI_BIN = join(dirname(createRequire(import.meta.url).resolve('@spinel/cli/package.json')), 'bin', 'run.js');

let registry: TestRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), 'spinel-deploy-'));
  // The image's user must be able to reach what is under it.
  await chmod(dir, 0o755);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}

async function stages(): Promise<Stage[]> {
  const file = DockerfileParser.parse(await readFile(DOCKERFILE, 'utf8'));
  const out: Stage[] = [];
  for (const instruction of file.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') out.push({ name: /\bAS\s+(\S+)/i.exec(instruction.getArgumentsContent() ?? '')?.[1], instructions: [] });
    out.at(-1)?.instructions.push(instruction);
  }
  return out;
}

const args = (stage: Stage, keyword: string): string[] => stage.instructions.filter((i) => i.getKeyword() === keyword).map((i) => (i.getArgumentsContent() ?? '').replace(/\s*\\?\n\s*/g, ' ').trim());

function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of args(stage, 'ENV')) for (const m of line.matchAll(/(\w+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
  return env;
}

describe('deploy/Dockerfile', () => {
  it('parses and lints clean, builds in one stage and runs as a non-root user in another', async () => {
    const text = await readFile(DOCKERFILE, 'utf8');
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    const [build, runtime, ...more] = await stages();
    expect(more).toEqual([]);
    expect(build?.name).toBe('build');
    expect(runtime?.name).toBe('runtime');
    if (runtime === undefined || build === undefined) return;
    // Only the deployed directory crosses from the build stage: no sources, no compilers, no dev dependencies.
    expect(runtime.instructions.filter((i) => i.getKeyword() === 'COPY').map((i) => i.getTextContent())).toEqual(['COPY --from=build /opt/spinel-runner /opt/spinel-runner']);
    expect(args(build, 'RUN').some((r) => /pnpm --filter @spinel\/runner deploy --prod \/opt\/spinel-runner/.test(r))).toBe(true);
    const user = args(runtime, 'USER');
    expect(user).toEqual(['10001:10001']);
    // Nothing runs as root after the switch to the user.
    const keywords = runtime.instructions.map((i) => i.getKeyword());
    expect(keywords.slice(keywords.indexOf('USER')).includes('RUN')).toBe(false);
    expect(args(runtime, 'ENTRYPOINT')).toEqual(['["node", "/opt/spinel-runner/bin/spinel-runner.js"]']);
  });

  it('agrees with the runner\'s defaults and with the manifests of spinel kube scaffold', async () => {
    const runtime = (await stages())[1];
    if (runtime === undefined) throw new Error('no runtime stage');
    const env = envOf(runtime);
    const parsed = parseCommandLine(['--from', 'r.example/a:1'], {});
    if (parsed.kind !== 'run') throw new Error('no config');
    const appPort = parsed.config.listen.split(':').at(-1);
    const adminPort = parsed.config.adminListen.split(':').at(-1);
    expect(args(runtime, 'EXPOSE')).toEqual([`${appPort} ${adminPort}`]);
    expect(args(runtime, 'HEALTHCHECK')[0]).toContain(`http://127.0.0.1:${adminPort}/livez`);
    // The writable paths are created, owned by the user, and declared volumes.
    const setup = args(runtime, 'RUN').join(' ');
    const volumes = JSON.parse(args(runtime, 'VOLUME')[0] ?? '[]') as string[];
    for (const path of [env['SPINEL_CACHE_DIR'], env['SPINEL_STATE_DIR']]) {
      expect(path).toMatch(/^\//);
      expect(setup).toMatch(new RegExp(`mkdir -p [^&]*${path}`));
      expect(setup).toMatch(new RegExp(`chown 10001:10001 [^&]*${path}`));
      expect(volumes).toContain(path);
    }

    const scaffold = await exec(process.execPath, [CLI_BIN, 'kube', 'scaffold', '--from', 'r.example/acme/shop:1'], { cwd: dir });
    const yaml = scaffold.stdout;
    expect(yaml).toContain('runAsUser: 10001');
    expect(yaml).toContain('runAsGroup: 10001');
    expect(yaml).toContain(`SPINEL_CACHE_DIR: ${env['SPINEL_CACHE_DIR']}`);
    expect(yaml).toContain(`SPINEL_STATE_DIR: ${env['SPINEL_STATE_DIR']}`);
    expect(yaml).toContain(`mountPath: ${env['SPINEL_CACHE_DIR']}`);
    expect(yaml).toContain(`mountPath: ${env['SPINEL_STATE_DIR']}`);
    expect(yaml).toContain('mountPath: /tmp');
    expect(yaml).toContain(`containerPort: ${appPort}`);
    expect(yaml).toContain(`containerPort: ${adminPort}`);
  });

  it('its deploy step makes a directory that serves an app from a registry as user 10001, with only the cache, the state and a temporary directory writable', async () => {
    const build = (await stages())[0];
    const runtime = (await stages())[1];
    if (build === undefined || runtime === undefined) throw new Error('no stages');
    const deployStep = args(build, 'RUN').find((r) => r.includes(' deploy '));
    if (deployStep === undefined) throw new Error('no deploy step');
    const root = join(dir, 'image');
    const opt = join(root, 'opt', 'spinel-runner');
    // The build stage's command, with the output moved under this test's directory (the repository is built already).
    await exec('sh', ['-c', deployStep.replace('/opt/spinel-runner', opt)], { cwd: REPO, env: { ...process.env, CI: 'true' }, maxBuffer: 64 * 1024 * 1024 });
    const deployed = await readdir(join(opt, 'node_modules'));
    expect(deployed).toEqual(expect.arrayContaining(['@spinel', 'prom-client', 'smol-toml']));
    for (const dev of ['vitest', 'kubernetes-models', 'dockerfile-ast']) expect(deployed).not.toContain(dev);
    expect(await readdir(join(opt, 'node_modules', '@spinel'))).not.toContain('test-utils');

    // The runtime stage's set-up, in a plain directory: the user's writable paths, nothing else.
    const env = envOf(runtime);
    const writable = { cache: join(root, env['SPINEL_CACHE_DIR'] ?? ''), state: join(root, env['SPINEL_STATE_DIR'] ?? ''), home: join(root, env['HOME'] ?? ''), tmp: join(root, 'tmp') };
    for (const path of Object.values(writable)) {
      await mkdir(path, { recursive: true });
      await chown(path, 10001, 10001);
    }
    for (let p = opt; p !== dir; p = dirname(p)) await chmod(p, 0o755);
    const reference = `${registry.host}/deploy/app:v1`;
    await pushManifest(await writeWatApp(join(dir, 'app'), 'hello', 'image-app'), reference);

    const entrypoint = JSON.parse(args(runtime, 'ENTRYPOINT')[0] ?? '[]') as string[];
    expect(entrypoint[0]).toBe('node');
    const child = spawn(process.execPath, [...entrypoint.slice(1).map((a) => a.replace('/opt/spinel-runner', opt)), '--from', reference, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], {
      cwd: writable.home,
      uid: 10001,
      gid: 10001,
      env: { PATH: process.env['PATH'], NODE_ENV: env['NODE_ENV'], HOME: writable.home, SPINEL_CACHE_DIR: writable.cache, SPINEL_STATE_DIR: writable.state, TMPDIR: writable.tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const field = async (event: string, name: string): Promise<string> => {
        const deadline = Date.now() + 90_000;
        for (;;) {
          for (const line of out.split('\n')) {
            if (!line.startsWith('{')) continue;
            const record = JSON.parse(line) as Record<string, unknown>;
            if (record['event'] === event) return String(record[name]);
            if (record['event'] === 'runner.failed') throw new Error(`runner failed: ${line}`);
          }
          if (child.exitCode !== null) throw new Error(`runner exited ${child.exitCode}: ${out} ${err}`);
          if (Date.now() > deadline) throw new Error(`no ${event}: ${out} ${err}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const admin = await field('runner.started', 'admin_url');
      const app = await field('app.serving', 'url');
      await waitForStatus(`${admin}/readyz`, 200);
      expect((await get(app)).body).toBe('hello from wat\n');
      // What it pulled and prepared went to the cache volume, as the image's user.
      expect((await stat(join(writable.cache, 'registry'))).uid).toBe(10001);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(err).toBe('');
  }, 300_000);
});
