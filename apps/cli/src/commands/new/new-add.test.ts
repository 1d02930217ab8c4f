import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// End-to-end: `spinel new` and `spinel add` from the built CLI, with the fixture templates
// (Spin's format) installed in a temporary data directory.
const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../templates/test-fixtures/spin-format', import.meta.url));

let data: string;
const roots: string[] = [];
beforeAll(async () => {
  data = temp();
  await spinel(['templates', 'install', '--dir', FIXTURES], data);
});
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-new-'));
  roots.push(dir);
  return dir;
}

async function spinel(args: string[], cwd: string): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, SPINEL_DATA_DIR: data, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com' } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), typing `input`; returns what the terminal showed. */
function onTerminal(args: string[], cwd: string, input: string): Promise<{ output: string; code: number | null }> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd, env: { ...process.env, SPINEL_DATA_DIR: data, TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    // Type each answer once a new question is on screen (it ends with ': ' or '] ').
    const answers = input.split('\n').slice(0, -1);
    let answeredAt = -1;
    const timer = setInterval(() => {
      if (answers.length > 0 && output.length > answeredAt && /(: |\] )$/.test(output)) {
        answeredAt = output.length;
        child.stdin.write(`${answers.shift() as string}\n`);
      }
    }, 100);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ output, code });
    });
  });
}

const read = (...p: string[]): string => readFileSync(join(...p), 'utf8');

describe('spinel new', () => {
  it('creates an app from a template: --accept-defaults, --value, --output, --no-vcs', async () => {
    const cwd = temp();
    const r = await spinel(['new', '-t', 'web-service', 'hello', '--accept-defaults', '--value', 'http-path=/hello/...', '--output', 'apps/hello', '--no-vcs'], cwd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Created application 'hello' from web-service in apps/hello\nNext: cd apps/hello && spinel build && spinel up\n");
    const manifest = read(cwd, 'apps', 'hello', 'spin.toml');
    expect(manifest).toContain('route = "/hello/..."');
    expect(manifest).toContain('authors = ["Ada <ada@example.com>"]');
    expect(existsSync(join(cwd, 'apps', 'hello', '.gitignore'))).toBe(false);
    expect(existsSync(join(cwd, 'apps', 'hello', '.git'))).toBe(false);
  });

  it('reads --values-file, with --value taking precedence; --json reports what was made', async () => {
    const cwd = temp();
    writeFileSync(join(cwd, 'values.toml'), 'redis-channel = "from-file"\nredis-address = "redis://file:6379"\n');
    const r = await spinel(['new', '-t', 'queue-handler', 'q', '--values-file', 'values.toml', '-v', 'redis-channel=from-flag', '-a', '--json'], cwd);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { template: string; name: string; files: string[]; gitInitialised: boolean };
    expect(json).toMatchObject({ template: 'queue-handler', name: 'q', gitInitialised: true });
    expect(json.files.sort()).toEqual(['q/handler.txt', 'q/spin.toml']);
    const manifest = read(cwd, 'q', 'spin.toml');
    expect(manifest).toContain('channel = "from-flag"');
    expect(manifest).toContain('address = "redis://file:6379"');
  });

  it('--init generates into the current directory; an occupied directory needs --allow-overwrite', async () => {
    const cwd = temp();
    writeFileSync(join(cwd, 'notes.txt'), 'mine');
    const refused = await spinel(['new', '-t', 'empty-app', 'here', '--init', '-a'], cwd);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Error: Can't generate into ${cwd} as it already contains other files`);
    expect(refused.stderr).toContain('Code: CLI_TEMPLATE_OUTPUT_EXISTS');
    const ok = await spinel(['new', '-t', 'empty-app', 'here', '--init', '-a', '--allow-overwrite'], cwd);
    expect(ok.code).toBe(0);
    expect(read(cwd, 'spin.toml')).toContain('name = "here"');
    expect(read(cwd, 'notes.txt')).toBe('mine');
  });

  it('explains mistakes: unknown template, bad name, bad value, missing value, app-only and component-only templates', async () => {
    const cwd = temp();
    const typo = await spinel(['new', '-t', 'web-servce', 'x', '-a'], cwd);
    expect(typo.stderr).toContain("Error: Template 'web-servce' is not installed (did you mean 'web-service'?).");
    expect(typo.stderr).toContain('Code: CLI_TEMPLATE_NOT_FOUND');
    const badName = await spinel(['new', '-t', 'web-service', '1st-app', '-a'], cwd);
    expect(badName.stderr).toContain("Each segment of the name must start with a letter. '1st' does not start with a letter");
    expect(badName.stderr).toContain('Code: CLI_INVALID_NAME');
    const upper = await spinel(['new', '-t', 'web-service', 'MyApp', '-a'], cwd);
    expect(upper.stderr).toContain('Code: CLI_INVALID_NAME');
    const badValue = await spinel(['new', '-t', 'web-service', 'x', '-a', '-v', 'http-path=nope'], cwd);
    expect(badValue.stderr).toContain("- http-path: Input 'nope' does not match pattern");
    expect(badValue.stderr).toContain('Code: CLI_TEMPLATE_VALUES');
    const badPair = await spinel(['new', '-t', 'web-service', 'x', '-a', '-v', 'http-path'], cwd);
    expect(badPair.stderr).toContain("'http-path' should be in the form name=value");
    const missing = await spinel(['new', '-t', 'queue-handler', 'x', '-a'], cwd);
    expect(missing.stderr).toContain("Error: Parameter 'redis-channel' not provided");
    expect(missing.stderr).toContain('Hint: Pass --value redis-channel=<value> (Redis channel).');
    const addOnly = await spinel(['new', '-t', 'add-vars', 'x', '-a'], cwd);
    expect(addOnly.stderr).toContain("Template add-vars doesn't support the 'new application' operation");
    const noTemplate = await spinel(['new', 'x'], cwd);
    expect(noTemplate.stderr).toContain('Choose a template with -t');
    expect(existsSync(join(cwd, 'x'))).toBe(false);
  });

  it('accepts Spin 1 syntax (template first), saying so', async () => {
    const cwd = temp();
    const r = await spinel(['new', 'empty-app', 'legacy', '-a'], cwd);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Using Spin 1 command syntax. The recommended syntax is 'spinel new legacy -t empty-app'");
    expect(read(cwd, 'legacy', 'spin.toml')).toContain('name = "legacy"');
  });

  it('asks on a terminal: the template, the name, then parameters, re-asking until a value fits the pattern', async () => {
    const cwd = temp();
    const r = await onTerminal(['new', '--tag', 'fixture', '--no-vcs'], cwd, '3\nasked-app\n\nno slash\n/api/...\n');
    expect(r.code).toBe(0);
    expect(r.output).toContain('Pick a template to start your application with');
    expect(r.output).toContain('Enter a name for your new application');
    expect(r.output).toContain("Invalid value: Input 'no slash' does not match pattern");
    expect(read(cwd, 'asked-app', 'spin.toml')).toContain('route = "/api/..."');
  });
});

describe('spinel add', () => {
  it('adds a component to spin.toml keeping its comments and formatting, files beside it', async () => {
    const cwd = temp();
    await spinel(['new', '-t', 'empty-app', 'app', '-a', '--no-vcs'], cwd);
    const dir = join(cwd, 'app');
    const original = `# My app, hand-written\n${read(dir, 'spin.toml')}\n[variables]   # settings\ntoken = { required = true }  # keep me\n\n`;
    writeFileSync(join(dir, 'spin.toml'), original);
    const r = await spinel(['add', '-t', 'web-service', 'api', '-a'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Added component 'api' from web-service to spin.toml (files in api)\n");
    const vars = await spinel(['add', '-t', 'add-vars', 'explorer', '-v', 'service-url=https://svc.example.com', '-f', join(dir, 'spin.toml')], cwd);
    expect(vars.code).toBe(0);
    const text = read(dir, 'spin.toml');
    expect(text.startsWith('# My app, hand-written\n')).toBe(true);
    expect(text).toContain('[variables]   # settings\ntoken = { required = true }  # keep me\nsecret = { required = true }\nurl = { default = "https://svc.example.com" }\n');
    expect(text).toContain('[component.api]\nsource = "api/out/api.wasm"');
    expect(text).toContain('[component.explorer]');
    expect(read(dir, 'api', 'Module.toml')).toContain('name = "api"');
  });

  it('needs a manifest to add to', async () => {
    const cwd = temp();
    mkdirSync(join(cwd, 'empty'));
    const r = await spinel(['add', '-t', 'web-service', 'api', '-a'], join(cwd, 'empty'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Can't add component to ${join(cwd, 'empty', 'spin.toml')}: file does not exist`);
  });
});
