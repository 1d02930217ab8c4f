/**
 * R4 — the cache under concurrent processes: eight processes pull the same app from a real
 * registry into one cache and put blobs with the same and with different digests at once,
 * while one of them is SIGKILLed in the middle of a write. A pass means every surviving
 * process succeeded, every entry in the cache hashes to its name (nothing corrupt, nothing
 * partial under a final name), the killed write left only a temporary file, and prune removes it.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { createRegistryClient, pushApp } from '@spinel/oci';
import { startRegistry } from '@spinel/test-utils';
import { exited, forkModule } from './child-process.js';
import { blobContent } from './r4-blob-content.js';
import { count, result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';
import { writeTestApp } from './test-app.js';

const PROCESSES = 8;

interface WorkerReport {
  ok: boolean;
  error?: string;
  pulled?: string;
  puts?: Array<{ digest: string; existed: boolean }>;
}

export const r4: Suite = {
  id: 'R4',
  title: 'cache under concurrent processes',
  proves: 'eight processes pulling the same app and writing the same and different digests into one cache, one of them SIGKILLed mid-write, leave no corrupt or partial entry: every entry hashes to its name, and the killed write leaves only a temporary file that prune removes',
  async run(profile: Profile): Promise<SuiteResult> {
    const rounds = profile === 'full' ? 5 : 1;
    const problems: string[] = [];
    const registry = await startRegistry();
    const dir = await mkdtemp(join(tmpdir(), 'spinel-r4-'));
    const client = createRegistryClient();
    const totals = { puts: 0, existed: 0, pulls: 0, checked: 0, corrupt: 0, temps: 0, kills: 0 };
    try {
      const app: LockedApp = await writeTestApp(join(dir, 'app'), { components: 2, wasmBytes: 2 * 1024 * 1024, files: 6 });
      const repository = `${registry.host}/r4/app`;
      await pushApp(app, { target: client.repository(repository), tag: 'v1' });
      for (let round = 0; round < rounds; round++) {
        const root = join(dir, `cache-${round}`);
        const children: ChildProcess[] = [];
        const ready: Array<Promise<void>> = [];
        const reports: Array<Promise<WorkerReport>> = [];
        let midWrite: Promise<string | undefined> | undefined;
        for (let i = 0; i < PROCESSES; i++) {
          const role = i === 0 ? 'victim' : 'writer';
          const child = forkModule('r4-cache-worker', [root, repository, role, String(i)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
          let stderr = '';
          child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
          children.push(child);
          ready.push(new Promise((resolve) => child.on('message', (m: { ready?: boolean }) => m.ready === true && resolve())));
          if (role === 'victim') {
            midWrite = new Promise((resolve) => {
              child.on('message', (m: { midWrite?: string; ok?: boolean; error?: string }) => {
                if (m.midWrite !== undefined) resolve(m.midWrite);
                else if (m.ok === false) {
                  problems.push(`round ${round}: the victim failed before its write: ${(m.error ?? '').split('\n')[0]}`);
                  resolve(undefined);
                }
              });
              child.once('exit', () => resolve(undefined));
            });
          } else {
            reports.push(
              new Promise((resolve) => {
                child.on('message', (m: WorkerReport & { ready?: boolean }) => m.ready !== true && resolve(m));
                child.once('exit', (code) => resolve({ ok: false, error: `exited ${String(code)} without a report: ${stderr.trim().slice(-300)}` }));
              }),
            );
          }
        }
        await Promise.all(ready);
        for (const child of children) child.send('go');
        if ((await midWrite) === undefined) problems.push(`round ${round}: the victim never reached the middle of its write`);
        children[0]?.kill('SIGKILL');
        totals.kills++;
        await exited(children[0] as ChildProcess);
        for (const [i, report] of (await Promise.all(reports)).entries()) {
          if (!report.ok) {
            problems.push(`round ${round}: process ${i + 1} failed: ${(report.error ?? '').split('\n').slice(0, 3).join(' ')}`);
            continue;
          }
          totals.pulls++;
          for (const put of report.puts ?? []) {
            totals.puts++;
            if (put.existed) totals.existed++;
          }
        }
        await Promise.all(children.map((c) => exited(c)));

        const cache = openCache({ root });
        const verified = await cache.verify({ remove: false });
        totals.checked += verified.checked;
        totals.corrupt += verified.corrupt.length;
        for (const c of verified.corrupt) problems.push(`round ${round}: corrupt ${c.kind} ${c.name}: ${c.problem}`);
        // Everything the survivors put is there, whole.
        for (const seed of ['shared-a', 'shared-b', 'shared-c']) {
          const bytes = blobContent(seed, 3 * 1024 * 1024);
          const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`;
          if (!(await cache.has(digest))) problems.push(`round ${round}: shared blob ${seed} is missing`);
        }
        // The victim's unfinished blob never got its final name; its temporary file is all that is left.
        const victimBytes = blobContent('victim-0', 8 * 1024 * 1024);
        const victimDigest = `sha256:${(await import('node:crypto')).createHash('sha256').update(victimBytes).digest('hex')}`;
        if (await cache.has(victimDigest)) problems.push(`round ${round}: the killed write's blob appeared under its final name`);
        const pruned = await cache.prune({ tempGraceMs: 0 });
        totals.temps += pruned.removedTemps.length;
        if (pruned.removedTemps.length === 0) problems.push(`round ${round}: the killed write left no temporary file to prune (was it killed mid-write?)`);
        const leftovers = (await readdir(join(root, 'registry', 'data'))).filter((n) => n.startsWith('.spinel-tmp-'));
        if (leftovers.length > 0) problems.push(`round ${round}: temporary files left after prune: ${leftovers.join(', ')}`);
      }
      return result(
        this,
        `${rounds} round(s) × ${PROCESSES} processes: ${count(totals.pulls)} concurrent pulls of one app and ${count(totals.puts)} puts (${count(totals.existed)} found already there) completed, ${totals.kills} SIGKILLed mid-write; verify checked ${count(totals.checked)} entries, ${totals.corrupt} corrupt; ${totals.temps} temporary file(s) of the killed writer pruned`,
        problems,
      );
    } finally {
      await client.close();
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
