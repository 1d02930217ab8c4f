import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// End-to-end: the built CLI against a temporary data directory.
const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../templates/test-fixtures/spin-format', import.meta.url));
const BUILTIN = ['http-empty', 'http-js', 'http-ts', 'redirect', 'static-fileserver'];

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-templates-cli-'));
  roots.push(dir);
  return dir;
}

async function spinel(args: string[], cwd: string, dataDir: string): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, SPINEL_DATA_DIR: dataDir } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd });
}

describe('spinel templates', () => {
  it('list shows spinel\'s own templates on first use (no network), with --tag, --verbose and --json', async () => {
    const data = temp();
    const table = await spinel(['templates', 'list'], data, data);
    expect(table.code).toBe(0);
    for (const id of BUILTIN) expect(table.stdout).toMatch(new RegExp(`\\| ${id} `));
    expect(table.stdout).toMatch(/^\+-+\+\n\| Name +Description +\|\n\+=+\+\n/);
    const json = JSON.parse((await spinel(['templates', 'list', '--json'], data, data)).stdout) as { id: string; tags: string[]; installedFrom: { builtin?: string } }[];
    expect(json.map((t) => t.id)).toEqual(BUILTIN);
    expect(json.every((t) => t.installedFrom.builtin?.startsWith('spinel '))).toBe(true);
    // Spin's spelling of --json.
    expect(JSON.parse((await spinel(['templates', 'list', '--format', 'json'], data, data)).stdout)).toEqual(json);
    const js = await spinel(['templates', 'list', '--tag', 'JS', '--verbose'], data, data);
    expect(js.stdout).toMatch(/\| http-js +HTTP request handler using JavaScript \(componentize-js\) +built in \(spinel /);
    expect(js.stdout).not.toContain('http-ts');
    const none = await spinel(['templates', 'list', '--tag', 'cobol'], data, data);
    expect(none.stdout).toBe(`No templates matched tags (${BUILTIN.length} templates skipped)\n`);
  });

  it('install --dir copies a source\'s templates, reports skips, and --upgrade replaces them', async () => {
    const data = temp();
    const first = await spinel(['templates', 'install', '--dir', FIXTURES], data, data);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Installed 7 template(s)');
    expect(first.stdout).toMatch(/Skipped 1 template\(s\)[\s\S]*\| custom-filter +Template load error: .*Custom filters are not supported/);
    const again = await spinel(['templates', 'install', '--dir', FIXTURES], data, data);
    expect(again.stdout).toMatch(/Installed 0 template\(s\)[\s\S]*\| web-service +Already exists/);
    const upgraded = await spinel(['templates', 'install', '--dir', FIXTURES, '--upgrade', '--json'], data, data);
    expect((JSON.parse(upgraded.stdout) as { installed: unknown[] }).installed).toHaveLength(7);
    const list = await spinel(['templates', 'list', '--verbose'], data, data);
    expect(list.stdout).toMatch(new RegExp(`\\| web-service +Fixture: an HTTP component with a build +${FIXTURES.replaceAll('/', '\\/')}`));
  });

  it('install --git clones a repository (a local one here) and upgrade follows it', async () => {
    const data = temp();
    const repo = temp();
    cpSync(join(FIXTURES, 'templates'), join(repo, 'templates'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'templates');
    const url = `file://${repo}`;
    const installed = await spinel(['templates', 'install', '--git', url, '--branch', 'main'], data, data);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toMatch(/^Copying remote template source\nInstalling template add-vars\.\.\./);
    expect(installed.stdout).toContain('Installed 7 template(s)');
    const meta = join(repo, 'templates', 'empty-app', 'metadata', 'spin-template.toml');
    writeFileSync(meta, readFileSync(meta, 'utf8').replace('Fixture: an application with no components', 'Empty, upgraded'));
    git(repo, 'rm', '-q', '-r', 'templates/partials');
    git(repo, 'commit', '-q', '-am', 'change');
    const upgraded = await spinel(['templates', 'upgrade'], data, data);
    expect(upgraded.code).toBe(0);
    expect(upgraded.stdout).toContain(`Upgrading templates from ${url} (main)...`);
    expect(upgraded.stdout).toMatch(/Removed 1 templates no longer in repository[\s\S]*\| partials/);
    const list = JSON.parse((await spinel(['templates', 'list', '--json'], data, data)).stdout) as { id: string; description: string }[];
    expect(list.find((t) => t.id === 'empty-app')?.description).toBe('Empty, upgraded');
    expect(list.some((t) => t.id === 'partials')).toBe(false);
    const bad = await spinel(['templates', 'install', '--git', `file://${join(repo, 'nope')}`], data, data);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Error: Error cloning Git repo file:\/\/.*nope/);
    expect(bad.stderr).toContain('Code: CLI_TEMPLATE_SOURCE');
  });

  it('install --tar takes a .tar.gz file', async () => {
    const data = temp();
    const work = temp();
    execFileSync('tar', ['-czf', join(work, 't.tar.gz'), '-C', FIXTURES, 'templates']);
    const r = await spinel(['templates', 'install', '--tar', 't.tar.gz'], work, data);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Installed 7 template(s)');
    const missing = await spinel(['templates', 'install', '--tar', 'missing.tar.gz'], work, data);
    expect(missing.stderr).toContain('Code: CLI_TEMPLATE_SOURCE');
  });

  it('needs exactly one source', async () => {
    const data = temp();
    const none = await spinel(['templates', 'install'], data, data);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Exactly one of `--git`, `--dir`, or `--tar` must be specified');
    const two = await spinel(['templates', 'install', '--dir', FIXTURES, '--git', 'x/y'], data, data);
    expect(two.code).not.toBe(0);
    expect(two.stderr).toMatch(/--(git|dir)=.* cannot also be provided when using --(dir|git)/);
  });

  it('uninstall removes a template, and says so for one that is not installed', async () => {
    const data = temp();
    await spinel(['templates', 'install', '--dir', FIXTURES], data, data);
    const r = await spinel(['templates', 'uninstall', 'web-service'], data, data);
    expect(r.stdout).toBe('Uninstalled template web-service\n');
    const again = await spinel(['templates', 'uninstall', 'web-service'], data, data);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("Error: Template 'web-service' is not installed");
    expect(again.stderr).toContain('Code: CLI_TEMPLATE_NOT_FOUND');
    const typo = await spinel(['templates', 'uninstall', 'partails'], data, data);
    expect(typo.stderr).toContain("(did you mean 'partials'?)");
    // An uninstalled built-in stays uninstalled (until spinel ships newer built-ins).
    await spinel(['templates', 'uninstall', 'redirect'], data, data);
    expect((await spinel(['templates', 'list'], data, data)).stdout).not.toContain('redirect');
    expect(existsSync(join(data, 'templates'))).toBe(true);
  });

  it('upgrade with nothing from Git says how to upgrade the rest', async () => {
    const data = temp();
    const r = await spinel(['templates', 'upgrade'], data, data);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^No template repositories found to upgrade\n/);
  });
});
