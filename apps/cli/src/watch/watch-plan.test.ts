import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classify, ignoredDirectory, isArtifact, readWatchPlan } from './watch-plan.js';

const root = mkdtempSync(join(tmpdir(), 'spinel-watch-plan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MANIFEST = `spin_manifest_version = 2
[application]
name = "plan"
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.http]]
route = "/files/..."
component = "files"
[[trigger.http]]
route = "/legacy/..."
component = "legacy"

[component.api]
source = "api/dist/api.wasm"
[component.api.build]
command = "npm run build"
workdir = "api"
watch = ["src/**/*.ts", "package.json"]

[component.files]
source = "fs.wasm"
files = [{ source = "public", destination = "/" }, "docs/*.md"]

[component.legacy]
source = { url = "https://example.com/x.wasm", digest = "sha256:${'0'.repeat(64)}" }
[component.legacy.build]
command = "make"
`;

describe('the watch plan', () => {
  it('maps changed paths to a component rebuild, a restart, a manifest reload or nothing', async () => {
    mkdirSync(join(root, 'api', 'src'), { recursive: true });
    writeFileSync(join(root, 'spin.toml'), MANIFEST);
    const plan = await readWatchPlan(join(root, 'spin.toml'), { skipAssets: false });
    expect(plan.builds).toEqual([{ component: 'api', globs: ['api/src/**/*.ts', 'api/package.json'] }]);
    expect(plan.unwatched).toEqual(['legacy']);
    expect(plan.artifacts).toEqual(['api/dist/api.wasm', 'fs.wasm', 'public/**/*', 'docs/*.md']);
    const at = (p: string) => classify(plan, join(root, p));
    expect(at('spin.toml')).toEqual({ kind: 'manifest' });
    expect(at('api/src/deep/index.ts')).toEqual({ kind: 'build', components: ['api'] });
    expect(at('api/package.json')).toEqual({ kind: 'build', components: ['api'] });
    expect(at('api/dist/api.wasm')).toEqual({ kind: 'artifact' });
    expect(at('public/css/site.css')).toEqual({ kind: 'artifact' });
    expect(at('public/.well-known/x')).toEqual({ kind: 'artifact' });
    expect(at('docs/a.md')).toEqual({ kind: 'artifact' });
    expect(at('docs/deeper/a.md')).toEqual({ kind: 'none' });
    expect(at('src/index.ts')).toEqual({ kind: 'none' });
    expect(classify(plan, join(root, '..', 'elsewhere.ts'))).toEqual({ kind: 'none' });
    // What --skip-build restarts on: served files only, never a build's sources.
    expect(isArtifact(plan, join(root, 'api/dist/api.wasm'))).toBe(true);
    expect(isArtifact(plan, join(root, 'public/index.html'))).toBe(true);
    expect(isArtifact(plan, join(root, 'api/src/deep/index.ts'))).toBe(false);
    expect(isArtifact(plan, join(root, '..', 'fs.wasm'))).toBe(false);
    // Roots: existing directories only, none nested in another.
    expect(plan.roots).toEqual([root]);
    expect(ignoredDirectory(plan, join(root, 'api', 'node_modules', 'x'))).toBe(true);
    expect(ignoredDirectory(plan, join(root, '.spin', 'logs'))).toBe(true);
    expect(ignoredDirectory(plan, join(root, 'api', 'src'))).toBe(false);
  });

  it('with --direct-mounts, mounted files need no restart', async () => {
    writeFileSync(join(root, 'spin.toml'), MANIFEST);
    const plan = await readWatchPlan(join(root, 'spin.toml'), { skipAssets: true });
    expect(plan.artifacts).toEqual(['api/dist/api.wasm', 'fs.wasm']);
    expect(classify(plan, join(root, 'public', 'index.html'))).toEqual({ kind: 'none' });
  });
});
