/**
 * The runner's process metrics, read when `/metrics` is scraped: nothing runs between scrapes.
 * prom-client's `collectDefaultMetrics` observes every garbage collection of the main thread
 * (a performance entry and a callback per GC), which under request load cost the runner a
 * measurable share of its CPU time per request; these are the figures an operator reads
 * (CPU, memory, heap, file descriptors, event-loop delay, start time), under the same names.
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Registers the process metrics on `registry` (names prefixed `spinel_`). */
export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  // A libuv timer sampling the loop's delay at 20 ms: no callback into JavaScript.
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  // Whole seconds, rounded down: rounding to nearest could put the start up to half a second in the future.
  const startedAt = Math.floor(Date.now() / 1000 - process.uptime());
  // The first scrape reports everything since the start.
  let lastCpu = { user: 0, system: 0 };
  new Counter({
    name: 'spinel_process_cpu_seconds_total',
    help: 'User and system CPU time of the process (every thread), in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      this.inc(Math.max(0, now.user + now.system - lastCpu.user - lastCpu.system) / 1e6);
      lastCpu = now;
    },
  });
  new Gauge({
    name: 'spinel_process_resident_memory_bytes',
    help: 'Resident memory of the process, in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'spinel_nodejs_heap_size_used_bytes',
    help: 'V8 heap used by the main thread, in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'spinel_nodejs_heap_size_total_bytes',
    help: 'V8 heap size of the main thread, in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapTotal);
    },
  });
  new Gauge({
    name: 'spinel_process_open_fds',
    help: 'Open file descriptors of the process.',
    registers,
    collect() {
      try {
        this.set(readdirSync('/proc/self/fd').length);
      } catch {
        // Not Linux: no /proc.
      }
    },
  });
  new Gauge({
    name: 'spinel_process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch, in seconds.',
    registers,
    collect() {
      this.set(startedAt);
    },
  });
  new Gauge({
    name: 'spinel_nodejs_eventloop_lag_p99_seconds',
    help: 'The 99th percentile of the main thread event loop delay since the last scrape, in seconds.',
    registers,
    collect() {
      this.set(delay.count > 0 ? delay.percentile(99) / 1e9 : 0);
      delay.reset();
    },
  });
}
