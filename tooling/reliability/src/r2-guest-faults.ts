/**
 * R2 — guest faults: requests to components that trap, loop past the deadline or grow
 * memory past the instance cap, mixed with requests to a healthy component of the same app,
 * through `spinel up`. A pass means no healthy request failed (no collateral damage), every
 * faulty one got a 5xx answer rather than hanging, and the server's threads and memory came
 * back near where they started.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watComponent } from '@spinel/test-utils';
import { sampleProcess } from './process-sampler.js';
import { Dice, seededRandom } from './seeded-random.js';
import { startUp } from './spinel-cli.js';
import { count, mib, result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';

type Kind = 'ok' | 'trap' | 'loop' | 'bomb';

const MANIFEST = `spin_manifest_version = 2
[application]
name = "r2"
${(['ok', 'trap', 'loop', 'bomb'] as const).map((k) => `[[trigger.http]]\nroute = "/${k}"\ncomponent = "${k}"\n`).join('')}
${(['ok', 'trap', 'loop', 'bomb'] as const).map((k) => `[component.${k}]\nsource = "${k}.wasm"\n`).join('')}`;

export const r2: Suite = {
  id: 'R2',
  title: 'guest faults',
  proves: 'traps, loops past the deadline and memory bombs in one component never fail requests to a healthy component of the same app, each faulty request is answered with a 5xx, and threads and memory return near their starting point',
  async run(profile: Profile): Promise<SuiteResult> {
    const total = profile === 'full' ? 1000 : 120;
    const problems: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'spinel-r2-'));
    try {
      for (const [kind, wat] of [['ok', 'hello'], ['trap', 'trap'], ['loop', 'loop'], ['bomb', 'memory-bomb']] as const) {
        await copyFile(await watComponent(wat), join(dir, `${kind}.wasm`));
      }
      await writeFile(join(dir, 'spin.toml'), MANIFEST);
      const up = await startUp(['-f', dir, '--listen', '127.0.0.1:0', '--state-dir', '', '--request-timeout', '2s', '--max-instance-memory', String(32 * 1024 * 1024)], { cwd: dir, env: { ...process.env } });
      const tally: Record<Kind, { sent: number; ok: number; fivexx: number; other: number }> = {
        ok: { sent: 0, ok: 0, fivexx: 0, other: 0 },
        trap: { sent: 0, ok: 0, fivexx: 0, other: 0 },
        loop: { sent: 0, ok: 0, fivexx: 0, other: 0 },
        bomb: { sent: 0, ok: 0, fivexx: 0, other: 0 },
      };
      let before;
      let after;
      try {
        for (let i = 0; i < 10; i++) await fetch(`${up.baseUrl}/ok`).then((r) => r.arrayBuffer());
        before = await sampleProcess(up.child.pid ?? 0);
        const dice = new Dice(seededRandom(2));
        const plan: Kind[] = Array.from({ length: total }, () => {
          const r = dice.next();
          return r < 0.55 ? 'ok' : r < 0.7 ? 'trap' : r < 0.8 ? 'loop' : 'bomb';
        });
        let next = 0;
        const client = async (): Promise<void> => {
          while (next < plan.length) {
            const kind = plan[next++] as Kind;
            tally[kind].sent++;
            const status = await fetch(`${up.baseUrl}/${kind}`, { signal: AbortSignal.timeout(120_000) }).then(
              async (r) => {
                await r.arrayBuffer();
                return r.status;
              },
              () => 0,
            );
            if (status === 200) tally[kind].ok++;
            else if (status >= 500) tally[kind].fivexx++;
            else tally[kind].other++;
            if (kind === 'ok' && status !== 200 && tally.ok.sent - tally.ok.ok <= 3) problems.push(`a healthy request got ${status === 0 ? 'no answer' : status}`);
          }
        };
        await Promise.all(Array.from({ length: 16 }, client));
        // Let replacement workers settle and temporary ones stop before the last reading.
        await new Promise((r) => setTimeout(r, 5000));
        after = await sampleProcess(up.child.pid ?? 0);
      } finally {
        const stopped = await up.stop();
        if (stopped.code !== 0) problems.push(`spinel up exited ${String(stopped.code)} after the run`);
      }
      const collateral = tally.ok.sent - tally.ok.ok;
      if (collateral > 0) problems.push(`${collateral} of ${tally.ok.sent} healthy requests failed`);
      for (const kind of ['trap', 'loop', 'bomb'] as const) {
        if (tally[kind].fivexx !== tally[kind].sent) problems.push(`${kind}: ${tally[kind].sent - tally[kind].fivexx} of ${tally[kind].sent} requests were not answered with a 5xx`);
      }
      if (before !== undefined && after !== undefined) {
        if (after.threads > before.threads + 8) problems.push(`threads grew from ${before.threads} to ${after.threads}`);
        if (after.rssBytes - before.rssBytes > 256 * 1024 * 1024) problems.push(`RSS grew from ${mib(before.rssBytes)} to ${mib(after.rssBytes)}`);
      }
      return result(
        this,
        `${count(total)} requests (${tally.ok.sent} healthy, ${tally.trap.sent} traps, ${tally.loop.sent} loops, ${tally.bomb.sent} memory bombs), 16 at a time: ${collateral} collateral failures, faults answered 5xx ${tally.trap.fivexx + tally.loop.fivexx + tally.bomb.fivexx}/${tally.trap.sent + tally.loop.sent + tally.bomb.sent}; threads ${before?.threads ?? '?'} → ${after?.threads ?? '?'}, RSS ${mib(before?.rssBytes ?? 0)} → ${mib(after?.rssBytes ?? 0)}`,
        problems,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
