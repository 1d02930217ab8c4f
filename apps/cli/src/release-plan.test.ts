// The workspace's changesets make a release plan. `changeset version` (the root's
// `version-packages`) refuses the whole set when one changeset is invalid, for example one naming
// a private app beside a library while private packages are not versioned. The plan is assembled
// here as that command does, by @changesets/cli's own planner (no git involved).
import { readFileSync } from 'node:fs';
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
  it('make a release plan, with the private apps versioned beside the libraries', async () => {
    // Resolved through @changesets/cli's own dependencies on purpose: this is the planner that
    // `changeset version` runs, at the version the CLI pins, where a direct dependency of ours
    // could drift from it. The root's devDependency on @changesets/cli keeps the path there.
    const changesetsCli = createRequire(join(root, 'package.json')).resolve('@changesets/cli/package.json');
    const planner = createRequire(changesetsCli)('@changesets/get-release-plan') as { default: (cwd: string) => Promise<ReleasePlan> };
    // Rejects when any pending changeset cannot be planned (after a release there may be none).
    const plan = await planner.default(root);
    const released = new Set(plan.releases.map((r) => r.name));
    const named = (plan.changesets as Array<{ releases: Array<{ name: string }> }>).flatMap((c) => c.releases.map((r) => r.name));
    for (const name of named) expect(released.has(name), name).toBe(true);
    // Apps are planned like libraries: a changeset may name the CLI beside a library it changes.
    const config = JSON.parse(readFileSync(join(root, '.changeset', 'config.json'), 'utf8')) as { privatePackages?: { version?: boolean } };
    expect(config.privatePackages?.version).toBe(true);
  }, 60_000);
});
