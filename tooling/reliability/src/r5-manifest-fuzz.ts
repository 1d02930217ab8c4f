/**
 * R5 — manifests under fuzzing: mutated and structure-aware manifests, for a fixed time,
 * each parsed (and locked when it parses) in a child process. A pass means no case crashed
 * (every refusal is a ManifestError with a stable code on each entry), none hung, and none
 * took over 1 s of CPU.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, forkModule } from './child-process.js';
import type { FuzzCase, FuzzOutcome } from './r5-fuzz-worker.js';
import { mutate, structured } from './r5-manifest-cases.js';
import { Dice, seededRandom } from './seeded-random.js';
import { count, result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';

const CPU_LIMIT_MS = 1000;
// Wall-clock time after which a case counts as hung (far above the CPU limit: the machine is shared).
const HANG_MS = 60_000;

class FuzzChild {
  private child!: ChildProcess;
  private waiting: ((outcome: FuzzOutcome | 'exit') => void) | undefined;

  constructor(private readonly scratch: string) {}

  async start(): Promise<void> {
    this.child = forkModule('r5-fuzz-worker', [this.scratch], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const child = this.child;
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the fuzz worker exited (${String(code)}) before it was ready`)));
    });
    child.on('message', (m) => this.waiting?.(m as FuzzOutcome));
    child.on('exit', () => this.waiting?.('exit'));
  }

  run(c: FuzzCase): Promise<FuzzOutcome | 'hang' | 'exit'> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve('hang');
      }, HANG_MS);
      this.waiting = (o) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(o);
      };
      this.child.send(c);
    });
  }

  async stop(): Promise<void> {
    const child = this.child as ChildProcess | undefined; // unset when start() failed
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
}

export const r5: Suite = {
  id: 'R5',
  title: 'manifest fuzzing',
  proves: 'mutated and structure-aware spin.toml files (deep keys, huge arrays, unicode ids, long strings, broken TOML) never crash parsing or locking, every refusal carries a stable MANIFEST_* code, and no case takes over 1 s of CPU',
  async run(profile: Profile): Promise<SuiteResult> {
    const seconds = profile === 'full' ? 60 : 8;
    const problems: string[] = [];
    let saveDir: string | undefined;
    const save = (seq: number, text: string): string => {
      saveDir ??= mkdtempSync(join(tmpdir(), 'spinel-r5-failures-'));
      const file = join(saveDir, `case-${seq}.toml`);
      writeFileSync(file, text);
      return file;
    };
    const scratch = mkdtempSync(join(tmpdir(), 'spinel-r5-'));
    const child = new FuzzChild(scratch);
    const stats = { mutated: 0, structured: 0, parsed: 0, refused: 0, crashes: 0, maxCpu: 0, maxSeq: 0 };
    const end = Date.now() + seconds * 1000;
    let seq = 0;
    try {
      await child.start();
      while (Date.now() < end) {
        seq++;
        const dice = new Dice(seededRandom(seq * 7919));
        const structuredCase = seq % 3 === 0;
        const text = structuredCase ? structured(dice) : mutate(dice);
        if (structuredCase) stats.structured++;
        else stats.mutated++;
        const outcome = await child.run({ seq, text });
        if (outcome === 'hang' || outcome === 'exit') {
          stats.crashes++;
          problems.push(`case ${seq} ${outcome === 'hang' ? `ran over ${HANG_MS / 1000} s` : 'killed the worker'}: ${save(seq, text)}`);
          await child.stop();
          await child.start();
          continue;
        }
        if (outcome.cpuMs > stats.maxCpu) {
          stats.maxCpu = outcome.cpuMs;
          stats.maxSeq = seq;
        }
        if (outcome.cpuMs > CPU_LIMIT_MS) problems.push(`case ${seq} took ${outcome.cpuMs.toFixed(0)} ms of CPU: ${save(seq, text)}`);
        if (outcome.kind === 'crash') {
          stats.crashes++;
          problems.push(`case ${seq} crashed (${(outcome.detail ?? '').split('\n')[0]}): ${save(seq, text)}`);
        } else if (outcome.kind === 'parsed') stats.parsed++;
        else stats.refused++;
      }
    } finally {
      await child.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
    // A fuzzer that only ever sees one outcome is not exercising the parser.
    if (stats.parsed === 0 || stats.refused === 0) problems.push(`one-sided outcomes: ${stats.parsed} parsed, ${stats.refused} refused`);
    return result(
      this,
      `${count(seq)} cases in ${seconds} s (${count(stats.mutated)} mutated, ${count(stats.structured)} structure-aware): ${count(stats.parsed)} parsed, ${count(stats.refused)} refused with coded errors, ${stats.crashes} crashes, max ${stats.maxCpu.toFixed(0)} ms CPU (case ${stats.maxSeq})`,
      problems,
    );
  },
};
