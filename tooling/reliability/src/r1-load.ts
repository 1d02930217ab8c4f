/**
 * R1 — load: `wrk` with 50 connections against `spinel up`, once with a WAT component and
 * once with a JavaScript (componentize-js) one, with the server's memory sampled all along.
 * A pass means no request failed (no socket error, no non-2xx answer); the figure reports
 * throughput and memory growth from the first to the last sample.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jsComponent, watComponent } from '@spinel/test-utils';
import { startSampler } from './process-sampler.js';
import { startUp } from './spinel-cli.js';
import { count, mib, result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';

const run = promisify(execFile);

/** What wrk reported. */
interface WrkReport {
  requests: number;
  perSecond: number;
  non2xx: number;
  socketErrors: number;
}

function parseWrk(out: string): WrkReport {
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  return { requests, perSecond, non2xx, socketErrors };
}

async function loadOne(name: string, wasm: string, seconds: number, problems: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `spinel-r1-${name}-`));
  try {
    await copyFile(wasm, join(dir, 'app.wasm'));
    await writeFile(join(dir, 'spin.toml'), 'spin_manifest_version = 2\n[application]\nname = "r1"\n[[trigger.http]]\nroute = "/..."\ncomponent = "app"\n[component.app]\nsource = "app.wasm"\n');
    const up = await startUp(['-f', dir, '--listen', '127.0.0.1:0', '--state-dir', ''], { cwd: dir, env: { ...process.env } });
    try {
      // Warm up (transpile, compile, workers), then measure from a steady start.
      for (let i = 0; i < 20; i++) await fetch(`${up.baseUrl}/`).then((r) => r.arrayBuffer());
      const sampler = startSampler(up.child.pid ?? 0);
      const { stdout } = await run('wrk', ['-t2', '-c50', `-d${seconds}s`, '--timeout', '30s', `${up.baseUrl}/`], { maxBuffer: 1 << 20 });
      const samples = await sampler.stop();
      const report = parseWrk(stdout);
      if (report.requests === 0) problems.push(`${name}: wrk made no request:\n${stdout}`);
      if (report.non2xx > 0) problems.push(`${name}: ${report.non2xx} non-2xx answers`);
      if (report.socketErrors > 0) problems.push(`${name}: ${report.socketErrors} socket errors`);
      const first = samples[0]?.rssBytes ?? 0;
      const last = samples.at(-1)?.rssBytes ?? 0;
      const peak = Math.max(0, ...samples.map((s) => s.rssBytes));
      return `${name} ${count(report.requests)} requests (${report.perSecond.toFixed(0)}/s), ${report.non2xx + report.socketErrors} errors, RSS ${mib(first)} → ${mib(last)} (peak ${mib(peak)}, growth ${mib(last - first)})`;
    } finally {
      const stopped = await up.stop();
      if (stopped.code !== 0) problems.push(`${name}: spinel up exited ${String(stopped.code)} after the load`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const r1: Suite = {
  id: 'R1',
  title: 'load',
  proves: 'spinel up answers wrk at 50 connections (WAT and JavaScript components) with no failed request, and its memory is sampled throughout so growth is visible',
  async run(profile: Profile): Promise<SuiteResult> {
    const seconds = profile === 'full' ? 60 : 5;
    const problems: string[] = [];
    const wat = await loadOne('WAT', await watComponent('hello'), seconds, problems);
    const js = await loadOne('JS', await jsComponent('fetch-event'), seconds, problems);
    return result(this, `wrk c=50 ${seconds} s each (measured under whatever else the machine runs): ${wat}; ${js}`, problems);
  },
};
