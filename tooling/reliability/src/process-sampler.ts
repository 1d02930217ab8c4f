/** Samples a process's resident memory and thread count from /proc while it runs (Linux). */
import { readFile } from 'node:fs/promises';

/** One reading. */
export interface ProcessSample {
  readonly atMs: number;
  readonly rssBytes: number;
  readonly threads: number;
}

/** Reads VmRSS and Threads of `pid`, or undefined when it is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (status === undefined) return undefined;
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  const threads = /^Threads:\s+(\d+)$/m.exec(status)?.[1];
  return { atMs: Date.now(), rssBytes: Number(rss ?? 0) * 1024, threads: Number(threads ?? 0) };
}

/** Samples every `intervalMs` until stopped; returns the readings. */
export function startSampler(pid: number, intervalMs = 500): { stop(): Promise<ProcessSample[]> } {
  const samples: ProcessSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const s = await sampleProcess(pid);
      if (s === undefined) break;
      samples.push(s);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}
