import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { installTemplates } from './install.js';
import { runTemplate, type Prompter, type RunTemplateOptions } from './run-template.js';
import { openSource, templateDirectories } from './template-source.js';
import { TemplateStore } from './template-store.js';

// Behaviour of Spin's template manager (Spin's crates/templates/src/manager.rs tests), run
// against fixtures written for spinel in Spin's template format.
const FIXTURES = fileURLToPath(new URL('./test-fixtures/spin-format', import.meta.url));
const FIXTURE_COUNT = 7; // every fixture but custom-filter, which Spin refuses to install

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-templates-'));
  roots.push(dir);
  return dir;
}

async function storeWithFixtures(): Promise<TemplateStore> {
  const store = new TemplateStore(join(temp(), 'templates'));
  await installTemplates({ store, templateDirs: await templateDirectories(FIXTURES), record: { kind: 'dir', dir: FIXTURES }, upgrade: false });
  return store;
}

const AUTHORS = { author: 'Ada <ada@example.com>', username: 'Ada' };

async function run(store: TemplateStore, id: string, options: Partial<RunTemplateOptions> & { cwd: string; name: string }) {
  return runTemplate({
    template: await store.require(id),
    variant: { kind: 'new' },
    outputPath: options.name,
    values: {},
    acceptDefaults: true,
    noVcs: false,
    allowOverwrite: false,
    authors: AUTHORS,
    initGit: false,
    ...options,
  });
}

const read = (...p: string[]): string => readFileSync(join(...p), 'utf8');

describe('installing templates', () => {
  it('installs every template of a source into an empty store, skipping ones whose manifest does not load', async () => {
    const store = new TemplateStore(join(temp(), 'templates'));
    expect((await store.list()).templates).toHaveLength(0);
    const result = await installTemplates({ store, templateDirs: await templateDirectories(FIXTURES), record: { kind: 'dir', dir: FIXTURES }, upgrade: false });
    expect(result.installed).toHaveLength(FIXTURE_COUNT);
    expect(result.skipped).toEqual([{ id: 'custom-filter', reason: expect.stringMatching(/Custom filters are not supported/) }]);
    const listed = await store.list();
    expect(listed.templates.map((t) => t.manifest.id)).toEqual(['add-vars', 'bad-filter', 'empty-app', 'file-server', 'partials', 'queue-handler', 'web-service']);
    expect(listed.warnings).toEqual([]);
    // One directory per id, named as Spin names them, each with its install record.
    const dir = store.directoryFor('web-service');
    expect(dir).toMatch(/web-service_[0-9a-f]{64}$/);
    expect(read(dir, '.install.toml')).toBe(`dir = ${JSON.stringify(FIXTURES)}\n`);
  });

  it('skips a directory that is not a template, and lists a broken store entry as a warning', async () => {
    const source = temp();
    cpSync(join(FIXTURES, 'templates'), join(source, 'templates'), { recursive: true });
    mkdirSync(join(source, 'templates', 'notta-template'));
    const store = new TemplateStore(join(temp(), 'templates'));
    const result = await installTemplates({ store, templateDirs: await templateDirectories(source), record: { kind: 'dir', dir: source }, upgrade: false });
    expect(result.skipped.map((s) => s.id)).toEqual(['custom-filter', 'notta-template']);
    expect(result.skipped[1]?.reason).toMatch(/Failed to read template manifest file/);
    mkdirSync(join(store.root, 'i-trip-you-up'));
    const listed = await store.list();
    expect(listed.templates).toHaveLength(FIXTURE_COUNT);
    expect(listed.warnings.map((w) => w.id)).toEqual(['i-trip-you-up']);
  });

  it('skips templates already installed, and replaces them with --upgrade', async () => {
    const store = await storeWithFixtures();
    await store.uninstall('web-service');
    await store.uninstall('partials');
    const again = await installTemplates({ store, templateDirs: await templateDirectories(FIXTURES), record: { kind: 'dir', dir: FIXTURES }, upgrade: false });
    expect(again.installed.map((t) => t.manifest.id)).toEqual(['partials', 'web-service']);
    expect(again.skipped.filter((s) => s.reason === 'Already exists')).toHaveLength(FIXTURE_COUNT - 2);
    // A changed source replaces the installed copy on upgrade; nothing of the old one is left.
    const source = temp();
    cpSync(join(FIXTURES, 'templates'), join(source, 'templates'), { recursive: true });
    writeFileSync(join(source, 'templates', 'web-service', 'metadata', 'spin-template.toml'), read(source, 'templates', 'web-service', 'metadata', 'spin-template.toml').replace('Fixture: an HTTP component with a build', 'Upgraded'));
    writeFileSync(join(store.directoryFor('web-service'), 'stale.txt'), 'old');
    const upgraded = await installTemplates({ store, templateDirs: await templateDirectories(source), record: { kind: 'dir', dir: source }, upgrade: true });
    expect(upgraded.installed).toHaveLength(FIXTURE_COUNT);
    expect((await store.require('web-service')).manifest.description).toBe('Upgraded');
    expect(existsSync(join(store.directoryFor('web-service'), 'stale.txt'))).toBe(false);
    expect(readdirSync(store.root).filter((n) => n.endsWith('stage'))).toEqual([]);
  });

  it('upgrading from a Git repository removes its templates that are gone from it', async () => {
    const repo = temp();
    cpSync(join(FIXTURES, 'templates'), join(repo, 'templates'), { recursive: true });
    git(repo, 'init', '-q');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'templates');
    const store = new TemplateStore(join(temp(), 'templates'));
    const url = `file://${repo}`;
    const first = await openSource({ kind: 'git', url }, { cwd: repo });
    await installTemplates({ store, templateDirs: await templateDirectories(first.root), record: first.record, upgrade: false });
    await first.close();
    expect(existsSync(first.root)).toBe(false);
    expect((await store.require('partials')).installedFrom).toEqual({ kind: 'git', git: url, branch: undefined });
    git(repo, 'rm', '-q', '-r', 'templates/partials');
    git(repo, 'commit', '-q', '-m', 'drop partials');
    const second = await openSource({ kind: 'git', url }, { cwd: repo });
    const result = await installTemplates({ store, templateDirs: await templateDirectories(second.root), record: second.record, upgrade: true });
    await second.close();
    expect(result.removed).toEqual(['partials']);
    expect(await store.get('partials')).toBeUndefined();
  });

  it('refuses a template holding a symbolic link (rendering would read the file it points to)', async () => {
    const source = temp();
    cpSync(join(FIXTURES, 'templates', 'empty-app'), join(source, 'templates', 'empty-app'), { recursive: true });
    symlinkSync('/etc/passwd', join(source, 'templates', 'empty-app', 'content', 'passwd.txt'));
    const store = new TemplateStore(join(temp(), 'templates'));
    const result = await installTemplates({ store, templateDirs: await templateDirectories(source), record: { kind: 'dir', dir: source }, upgrade: false });
    expect(result.installed).toEqual([]);
    expect(result.skipped[0]?.reason).toMatch(/passwd\.txt is not a regular file or directory/);
  });

  it('says when a source has no templates directory', async () => {
    await expect(templateDirectories(temp())).rejects.toMatchObject({ code: 'CLI_TEMPLATE_SOURCE', message: expect.stringMatching(/does not contain a 'templates' directory/) });
  });

  it('unpacks a .tar.gz source, GitHub-style wrapping directory included, and refuses links in it', async () => {
    const work = temp();
    cpSync(join(FIXTURES, 'templates'), join(work, 'repo-v1.0.0', 'templates'), { recursive: true });
    execFileSync('tar', ['-czf', join(work, 'templates.tar.gz'), '-C', work, 'repo-v1.0.0']);
    const local = await openSource({ kind: 'tar', location: 'templates.tar.gz' }, { cwd: work });
    expect((await templateDirectories(local.root)).map((d) => d.split('/').at(-1))).toContain('web-service');
    expect(local.record).toEqual({ kind: 'tar', url: join(work, 'templates.tar.gz') });
    await local.close();
    symlinkSync('/etc/passwd', join(work, 'repo-v1.0.0', 'templates', 'link'));
    execFileSync('tar', ['-czf', join(work, 'evil.tar.gz'), '-C', work, 'repo-v1.0.0']);
    await expect(openSource({ kind: 'tar', location: 'evil.tar.gz' }, { cwd: work })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_SOURCE', message: expect.stringMatching(/SymbolicLink/) });
  });
});

describe('running a template (new application)', () => {
  it('renders content with Spin\'s filters, strips .tmpl, copies binary and non-template files unchanged', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    const result = await run(store, 'web-service', { cwd, name: 'my project.Name', outputPath: 'proj' });
    expect(result.completed).toBe(true);
    const out = join(cwd, 'proj');
    expect(read(out, 'Module.toml')).toBe('name = "my-project-name"\ntype = "MyProjectName"\nnamespace = "MyProject.Name"\nuser = "Ada"\n');
    expect(existsSync(join(out, 'Module.toml.tmpl'))).toBe(false);
    expect(read(out, 'src', 'main.txt')).toBe('fn handle_my_project_name() -> "/..."\n');
    expect(read(out, 'src', 'raw.txt')).toBe('Not a template: {% this tag is not closed\n');
    expect(readFileSync(join(out, 'logo.bin'))).toEqual(readFileSync(join(FIXTURES, 'templates', 'web-service', 'content', 'logo.bin')));
    const manifest = read(out, 'spin.toml');
    expect(manifest).toContain('authors = ["Ada <ada@example.com>"]');
    expect(manifest).toContain('route = "/..."');
    expect(manifest).toContain('[component.my-project-name]\nsource = "out/my_project_name.wasm"');
    expect(read(out, '.gitignore')).toBe('out/\n');
  });

  it('uses given values over defaults, and refuses values the template does not define or that break a pattern', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    await run(store, 'web-service', { cwd, name: 'api', values: { 'http-path': '/api/...' } });
    expect(read(cwd, 'api', 'spin.toml')).toContain('route = "/api/..."');
    await expect(run(store, 'web-service', { cwd, name: 'b', values: { 'http-path': 'no-slash', colour: 'red' } })).rejects.toMatchObject({
      code: 'CLI_TEMPLATE_VALUES',
      message:
        "The following provided value(s) are invalid according to the template:\n- http-path: Input 'no-slash' does not match pattern '^\\/\\S*$'\n- Template does not contain a parameter named 'colour'",
    });
    expect(existsSync(join(cwd, 'b'))).toBe(false);
  });

  it('asks for a parameter without a value, or fails naming it when nobody can be asked', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    await expect(run(store, 'queue-handler', { cwd, name: 'q' })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_VALUES', message: "Parameter 'redis-channel' not provided" });
    const asked: string[] = [];
    const warned: string[] = [];
    const answers = ['', 'jobs'];
    const prompter: Prompter = {
      confirm: async () => true,
      text: async (q) => {
        asked.push(q);
        return answers.shift() ?? '';
      },
      choose: async () => '',
      warn: (m) => warned.push(m),
    };
    await run(store, 'queue-handler', { cwd, name: 'q', prompter });
    expect(asked).toEqual(['Redis channel', 'Redis channel']);
    expect(warned).toEqual(['A value is required.']);
    expect(read(cwd, 'q', 'spin.toml')).toContain('channel = "jobs"');
  });

  it('re-asks until an answer matches the parameter\'s pattern', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    const answers = ['nope', '/ok/...'];
    const warned: string[] = [];
    const prompter: Prompter = { confirm: async () => true, text: async () => answers.shift() ?? '', choose: async () => '', warn: (m) => warned.push(m) };
    await run(store, 'web-service', { cwd, name: 'w', acceptDefaults: false, values: { 'project-description': '' }, prompter });
    expect(warned).toEqual(["Invalid value: Input 'nope' does not match pattern '^\\/\\S*$'"]);
    expect(read(cwd, 'w', 'spin.toml')).toContain('route = "/ok/..."');
  });

  it('does not generate over existing files unless allowed', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    mkdirSync(join(cwd, 'p'));
    writeFileSync(join(cwd, 'p', 'spin.toml'), 'cookies');
    await expect(run(store, 'web-service', { cwd, name: 'p' })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_OUTPUT_EXISTS' });
    expect(read(cwd, 'p', 'spin.toml')).toBe('cookies');
    const declined: Prompter = { confirm: async () => false, text: async () => '', choose: async () => '', warn: () => undefined };
    expect((await run(store, 'web-service', { cwd, name: 'p', prompter: declined })).completed).toBe(false);
    expect(read(cwd, 'p', 'spin.toml')).toBe('cookies');
    await run(store, 'web-service', { cwd, name: 'p', allowOverwrite: true });
    expect(read(cwd, 'p', 'spin.toml')).toContain('[[trigger.http]]');
  });

  it('--no-vcs writes no .gitignore and no repository; otherwise a new app gets git init', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    await run(store, 'web-service', { cwd, name: 'novcs', noVcs: true, initGit: true });
    expect(existsSync(join(cwd, 'novcs', '.gitignore'))).toBe(false);
    expect(existsSync(join(cwd, 'novcs', '.git'))).toBe(false);
    const result = await run(store, 'web-service', { cwd, name: 'vcs', initGit: true });
    expect(result.gitInitialised).toBe(true);
    expect(existsSync(join(cwd, 'vcs', '.git'))).toBe(true);
    // Inside a repository already: no nested one.
    const nested = await run(store, 'empty-app', { cwd: join(cwd, 'vcs'), name: 'inner', initGit: true });
    expect(nested.gitInitialised).toBe(false);
  });

  it('creates output directories, and refuses one outside the app', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    await run(store, 'file-server', { cwd, name: 'site', values: { 'files-path': 'public', 'http-path': '/files' } });
    expect(existsSync(join(cwd, 'site', 'public'))).toBe(true);
    expect(read(cwd, 'site', 'spin.toml')).toContain('route = "/files/..."');
    await expect(run(store, 'file-server', { cwd, name: 'evil', values: { 'files-path': '../../outside' } })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_VALUES' });
    expect(existsSync(join(cwd, '..', 'outside'))).toBe(false);
  });

  it('renders partials from metadata/partials', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    await run(store, 'partials', { cwd, name: 'p', values: { 'example-value': 'myvalue' } });
    expect(read(cwd, 'p', 'test.txt').split('\n').slice(0, 3)).toEqual(['Value: myvalue', 'Partial 1: Hello from P1', 'Partial 2: Value is myvalue']);
  });

  it('fails on an unknown filter, naming it', async () => {
    const store = await storeWithFixtures();
    await expect(run(store, 'bad-filter', { cwd: temp(), name: 'b', values: { p1: 'biscuits' } })).rejects.toMatchObject({
      code: 'CLI_TEMPLATE_RENDER',
      message: expect.stringMatching(/internal error in template: unknown filter 'lol_snort'/),
    });
  });

  it('a template cannot read files from the user\'s disk through Liquid', async () => {
    const source = temp();
    cpSync(join(FIXTURES, 'templates', 'empty-app'), join(source, 'templates', 'empty-app'), { recursive: true });
    writeFileSync(join(source, 'templates', 'empty-app', 'content', 'steal.txt'), "{% include '/etc/passwd' %}{% render '../../../../etc/hostname' %}");
    const store = new TemplateStore(join(temp(), 'templates'));
    await installTemplates({ store, templateDirs: await templateDirectories(source), record: { kind: 'dir', dir: source }, upgrade: false });
    await expect(run(store, 'empty-app', { cwd: temp(), name: 'x' })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_RENDER' });
  });

  it('refuses to create a new app from a component-only template', async () => {
    const store = await storeWithFixtures();
    await expect(run(store, 'add-vars', { cwd: temp(), name: 'x' })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_UNSUPPORTED_VARIANT', message: "Template add-vars doesn't support the 'new application' operation" });
  });
});

describe('running a template (add component)', () => {
  async function appFrom(store: TemplateStore, id: string, values: Record<string, string> = {}): Promise<{ cwd: string; manifest: string }> {
    const cwd = temp();
    await run(store, id, { cwd, name: 'my multi project', outputPath: 'multi', values });
    return { cwd: join(cwd, 'multi'), manifest: join(cwd, 'multi', 'spin.toml') };
  }

  it('appends the component snippet with output-path, writes its files beside the manifest, keeps the rest of the manifest', async () => {
    const store = await storeWithFixtures();
    const { cwd, manifest } = await appFrom(store, 'empty-app');
    const original = `${read(manifest)}# keep this comment\n[application.trigger.http]   # and this one\nbase = "/"\n`;
    writeFileSync(manifest, original);
    await run(store, 'web-service', { cwd, name: 'hello', variant: { kind: 'add', manifestPath: manifest } });
    await run(store, 'web-service', { cwd, name: 'hello 2', outputPath: 'encore', variant: { kind: 'add', manifestPath: manifest } });
    const text = read(manifest);
    expect(text.startsWith(original.trimEnd())).toBe(true);
    expect(text).toContain('source = "hello/out/hello.wasm"');
    expect(text).toContain('source = "encore/out/hello_2.wasm"');
    expect(text).toContain('workdir = "encore"');
    expect(read(cwd, 'encore', 'Module.toml')).toContain('name = "hello-2"');
    expect(existsSync(join(cwd, 'encore', 'spin.toml'))).toBe(false);
  });

  it('merges a variables snippet into [variables], replacing a key already there', async () => {
    const store = await storeWithFixtures();
    const { cwd, manifest } = await appFrom(store, 'web-service');
    await run(store, 'add-vars', { cwd, name: 'insertvars', variant: { kind: 'add', manifestPath: manifest }, values: { 'service-url': 'https://service.example.com' } });
    let text = read(manifest);
    expect(text).toContain('[variables]\nsecret = { required = true }\nurl = { default = "https://service.example.com" }');
    expect(text).toContain('[component.insertvars.variables]\nkv_credentials = "{{ secret }}"');
    await run(store, 'add-vars', { cwd, name: 'again', outputPath: 'again', variant: { kind: 'add', manifestPath: manifest }, values: { 'service-url': 'https://other.example.com' } });
    text = read(manifest);
    expect(text).toContain('url = { default = "https://other.example.com" }');
    expect(text).not.toContain('service.example.com');
  });

  it('applies conditions on the manifest: an existing Redis trigger skips its parameter and snippet', async () => {
    const store = await storeWithFixtures();
    const { cwd, manifest } = await appFrom(store, 'queue-handler', { 'redis-channel': 'first' });
    await run(store, 'queue-handler', { cwd, name: 'second', variant: { kind: 'add', manifestPath: manifest }, values: { 'redis-channel': 'second' } });
    const text = read(manifest);
    expect(text.match(/\[application\.trigger\.redis\]/g)).toHaveLength(1);
    expect(text).toContain('channel = "second"\ncomponent = "second"');
    // Without the trigger, the snippet is added (and its parameter used).
    const empty = await appFrom(store, 'empty-app');
    await run(store, 'queue-handler', { cwd: empty.cwd, name: 'q', variant: { kind: 'add', manifestPath: empty.manifest }, values: { 'redis-channel': 'c', 'redis-address': 'redis://queue:6379' } });
    expect(read(empty.manifest)).toContain('[application.trigger.redis]\naddress = "redis://queue:6379"');
  });

  it('--no-vcs on add writes no .gitignore into the component directory', async () => {
    const store = await storeWithFixtures();
    const { cwd, manifest } = await appFrom(store, 'empty-app');
    await run(store, 'web-service', { cwd, name: 'c', noVcs: true, variant: { kind: 'add', manifestPath: manifest } });
    expect(existsSync(join(cwd, 'c', 'Module.toml'))).toBe(true);
    expect(existsSync(join(cwd, 'c', '.gitignore'))).toBe(false);
  });

  it('refuses to add to a version 1 manifest, and to add from an app-only template', async () => {
    const store = await storeWithFixtures();
    const cwd = temp();
    const manifest = join(cwd, 'spin.toml');
    writeFileSync(manifest, 'spin_manifest_version = "1"\nname = "old"\nversion = "1.0.0"\ntrigger = { type = "http" }\n');
    await expect(run(store, 'web-service', { cwd, name: 'x', variant: { kind: 'add', manifestPath: manifest } })).rejects.toMatchObject({
      code: 'CLI_TEMPLATE_UNSUPPORTED_VARIANT',
      message: 'Components cannot be added to Spin manifest version 1 applications.',
    });
    await expect(run(store, 'empty-app', { cwd, name: 'x', variant: { kind: 'add', manifestPath: manifest } })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_UNSUPPORTED_VARIANT' });
  });

  it('refuses a snippet file outside the template\'s snippets directory', async () => {
    const source = temp();
    cpSync(join(FIXTURES, 'templates', 'web-service'), join(source, 'templates', 'web-service'), { recursive: true });
    const meta = join(source, 'templates', 'web-service', 'metadata', 'spin-template.toml');
    writeFileSync(meta, read(meta).replace('component = "component.txt"', 'component = "../../../../../../../etc/passwd"'));
    const store = new TemplateStore(join(temp(), 'templates'));
    await installTemplates({ store, templateDirs: await templateDirectories(source), record: { kind: 'dir', dir: source }, upgrade: false });
    const cwd = temp();
    const manifest = join(cwd, 'spin.toml');
    writeFileSync(manifest, 'spin_manifest_version = 2\n[application]\nname = "a"\n');
    await expect(run(store, 'web-service', { cwd, name: 'x', variant: { kind: 'add', manifestPath: manifest } })).rejects.toMatchObject({ code: 'CLI_TEMPLATE_INVALID', message: expect.stringMatching(/outside metadata\/snippets/) });
    expect(read(manifest)).toBe('spin_manifest_version = 2\n[application]\nname = "a"\n');
  });
});

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd });
}
