/**
 * Counters that worker threads increment and the main thread reads, with no message per count:
 * one Uint32 per counter in a SharedArrayBuffer, incremented with `Atomics.add`. A
 * `diagnostics_channel` message cannot leave the worker that publishes it, and a message per
 * instance or per key-value operation would cost more than the work it counts.
 *
 * The main side turns the wrapping 32-bit values into running totals: it must read at least
 * once per 2^32 increments of one counter (metrics scrapes read far more often).
 */

/** A buffer of `size` zeroed counters, to post to workers (it is shared, not copied). */
export function createSharedCounters(size: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(1, size) * Uint32Array.BYTES_PER_ELEMENT);
}

/** Worker side: adds `n` to counter `index`. Indexes outside the buffer are ignored. */
export type CounterAdd = (index: number, n?: number) => void;

/** Worker side: the adder of a buffer made by {@link createSharedCounters}; without one, counting is a no-op. */
export function counterAdder(buffer: SharedArrayBuffer | undefined): CounterAdd {
  if (buffer === undefined) return () => undefined;
  const view = new Uint32Array(buffer);
  return (index, n = 1) => {
    if (index >= 0 && index < view.length) Atomics.add(view, index, n);
  };
}

/** Main side: running totals of a buffer's counters. */
export class CounterTotals {
  private readonly view: Uint32Array;
  private readonly last: Uint32Array;
  private readonly totals: number[];

  constructor(buffer: SharedArrayBuffer) {
    this.view = new Uint32Array(buffer);
    this.last = new Uint32Array(this.view.length);
    this.totals = Array.from({ length: this.view.length }, () => 0);
  }

  /** Every counter's total since the buffer was made. */
  read(): number[] {
    for (let i = 0; i < this.view.length; i++) {
      const now = Atomics.load(this.view, i);
      // Unsigned difference: right across one wrap of the 32-bit value.
      this.totals[i] = (this.totals[i] ?? 0) + ((now - (this.last[i] ?? 0)) >>> 0);
      this.last[i] = now;
    }
    return [...this.totals];
  }
}
