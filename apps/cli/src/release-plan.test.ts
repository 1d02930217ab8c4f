// The workspace's changesets make a release plan. `changeset version` (the root's
// `version-packages`) refuses the whole set when one changeset is invalid, for example one naming
// a private app beside a library while private packages are not versioned. The plan is assembled
// here as that command does, by @changesets/cli's own planner (no git involved).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

interface ReleasePlan {
  changesets: unknown[];
  releases: Array<{ name: string; newVersion: string }>;
}

describe('changesets', () => {
  it('make a release plan that versions the CLI and the runner beside the libraries', async () => {
    const changesetsCli = createRequire(join(root, 'package.json')).resolve('@changesets/cli/package.json');
    const planner = createRequire(changesetsCli)('@changesets/get-release-plan') as { default: (cwd: string) => Promise<ReleasePlan> };
    const plan = await planner.default(root);
    expect(plan.changesets.length).toBeGreaterThan(0);
    const names = new Set(plan.releases.map((r) => r.name));
    for (const name of ['@spinel/cli', '@spinel/runner', '@spinel/runtime', '@spinel/oci']) expect(names.has(name), name).toBe(true);
  }, 60_000);
});
