import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEMPLATE_FILTERS } from './filters.js';
import { installTemplates } from './install.js';
import { runTemplate } from './run-template.js';
import { openSource, templateDirectories } from './template-source.js';
import { TemplateStore } from './template-store.js';

// Opt-in conformance with Spin's own templates: set SPIN_SOURCE_DIR to a Spin checkout (its
// `templates/` is enough), e.g. `SPIN_SOURCE_DIR=/path/to/spin pnpm --filter @spinel/cli test`.
// Spin's templates folder is installed from a Git repository (the checkout itself, or one made
// from its templates) and from the directory, and what six of them generate is compared with
// what the templates define. Generating needs no toolchain; building them would (Rust, Go).
// The always-on tests (templates.test.ts) use fixtures written for spinel in Spin's format.
const spinDir = process.env['SPIN_SOURCE_DIR'];
const enabled = spinDir !== undefined && existsSync(join(spinDir, 'templates', 'http-rust', 'metadata', 'spin-template.toml'));

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-spin-templates-'));
  roots.push(dir);
  return dir;
}

const AUTHORS = { author: 'Ada <ada@example.com>', username: 'Ada' };

/** What a Spin template file should become, worked out independently of the Liquid engine: `{{ name }}` and `{{ name | filter }}`. */
function expectedText(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{\s*([\w-]+)\s*(?:\|\s*(\w+)\s*)?\}\}/g, (_m, name: string, filter: string | undefined) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${name}`);
    if (filter === undefined) return value;
    const f = TEMPLATE_FILTERS[filter];
    if (f === undefined) throw new Error(`unknown filter ${filter}`);
    return f(value);
  });
}

function files(dir: string, root = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...files(path, root));
    else out.push(relative(root, path).split('\\').join('/'));
  }
  return out.sort();
}

describe.runIf(enabled)("Spin's templates folder (SPIN_SOURCE_DIR)", () => {
  const templatesDir = join(spinDir ?? '', 'templates');
  const ids = ['http-empty', 'redirect', 'static-fileserver', 'redis-rust', 'http-rust', 'http-go'];

  async function installFromGit(): Promise<TemplateStore> {
    let repo = spinDir as string;
    if (!existsSync(join(repo, '.git'))) {
      repo = temp();
      cpSync(templatesDir, join(repo, 'templates'), { recursive: true });
      execFileSync('git', ['init', '-q'], { cwd: repo });
      execFileSync('git', ['add', '.'], { cwd: repo });
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'templates'], { cwd: repo });
    }
    const store = new TemplateStore(join(temp(), 'templates'));
    const local = await openSource({ kind: 'git', url: `file://${repo}` }, { cwd: repo });
    try {
      const result = await installTemplates({ store, templateDirs: await templateDirectories(local.root), record: local.record, upgrade: false });
      expect(result.skipped).toEqual([]);
      expect(result.installed.map((t) => t.manifest.id)).toEqual(readdirSync(templatesDir).sort());
    } finally {
      await local.close();
    }
    return store;
  }

  it('installs every template from a Git repository and from the directory', async () => {
    await installFromGit();
    const store = new TemplateStore(join(temp(), 'templates'));
    const result = await installTemplates({ store, templateDirs: await templateDirectories(spinDir as string), record: { kind: 'dir', dir: spinDir as string }, upgrade: false });
    expect(result.skipped).toEqual([]);
    expect((await store.list()).templates.length).toBe(readdirSync(templatesDir).length);
  });

  it.each(ids)('%s: a new application holds exactly the files the template defines, rendered', async (id) => {
    const store = await installFromGit();
    const template = await store.require(id);
    const values: Record<string, string> = {};
    for (const p of template.manifest.parameters) values[p.id] = p.defaultValue ?? (p.id.includes('path') || p.id.startsWith('redirect') ? '/from' : `value-of-${p.id}`);
    const cwd = temp();
    const result = await runTemplate({ template, variant: { kind: 'new' }, name: 'my-proj', outputPath: 'out', values, acceptDefaults: true, noVcs: false, allowOverwrite: false, cwd, authors: AUTHORS, initGit: false });
    const out = result.targetDir;
    const content = join(templatesDir, id, 'content');
    const skip = template.manifest.newApplication?.skipFiles ?? [];
    const expected = files(content)
      .filter((f) => !skip.includes(f))
      .map((f) => f.replace(/\.tmpl$/, ''));
    const created = template.manifest.outputs.map((o) => expectedText(o.path, values));
    expect(files(out).filter((f) => !created.some((c) => f.startsWith(`${c}/`)))).toEqual(expected);
    const all = { ...values, authors: AUTHORS.author, username: AUTHORS.username, 'project-name': 'my-proj', 'output-path': 'out' };
    for (const f of files(content).filter((x) => !skip.includes(x))) {
      expect(readFileSync(join(out, f.replace(/\.tmpl$/, '')), 'utf8')).toBe(expectedText(readFileSync(join(content, f), 'utf8'), all));
    }
    for (const dir of created) expect(statSync(join(out, dir)).isDirectory()).toBe(true);
  });

  it('adds components from Spin\'s templates the way Spin\'s own tests expect', async () => {
    const store = await installFromGit();
    const cwd = temp();
    const run = async (id: string, name: string, outputPath: string, variant: { kind: 'new' } | { kind: 'add'; manifestPath: string }, values: Record<string, string> = {}) =>
      runTemplate({ template: await store.require(id), variant, name, outputPath, values, acceptDefaults: true, noVcs: false, allowOverwrite: false, cwd, authors: AUTHORS, initGit: false });
    await run('redis-rust', 'my multi project', 'multi', { kind: 'new' }, { 'redis-channel': 'the-horrible-knuckles' });
    const manifest = join(cwd, 'multi', 'spin.toml');
    await run('http-rust', 'hello', 'hello', { kind: 'add', manifestPath: manifest });
    await run('http-rust', 'hello 2', 'encore', { kind: 'add', manifestPath: manifest });
    await run('redis-rust', 'second', 'second', { kind: 'add', manifestPath: manifest }, { 'redis-channel': 'more' });
    await run('http-go', 'gopher', 'gopher', { kind: 'add', manifestPath: manifest });
    await run('static-fileserver', 'files', 'files', { kind: 'add', manifestPath: manifest });
    const text = readFileSync(manifest, 'utf8');
    expect(text).toContain('[[trigger.redis]]');
    expect(text).toContain('[[trigger.http]]');
    expect(text).toContain('[component.my-multi-project]');
    expect(text).toContain('source = "hello/target/wasm32-wasip2/release/hello.wasm"');
    expect(text).toContain('source = "encore/target/wasm32-wasip2/release/hello_2.wasm"');
    expect(text.match(/\[application\.trigger\.redis\]/g)).toHaveLength(1);
    expect(text).toContain('source = "gopher/main.wasm"');
    expect(text).toContain('route = "/static/..."');
    expect(readFileSync(join(cwd, 'multi', 'encore', 'Cargo.toml'), 'utf8')).toContain('name = "hello-2"');
    expect(readFileSync(join(cwd, 'multi', 'gopher', 'go.mod'), 'utf8')).toContain('module github.com/gopher');
    expect(statSync(join(cwd, 'multi', 'assets')).isDirectory()).toBe(true);
  });
});
