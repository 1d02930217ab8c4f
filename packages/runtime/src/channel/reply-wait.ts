/**
 * How a worker waits for the serving side's next message: either it sleeps on the signal word
 * (`Atomics.wait`) at once, or it first polls the word for a short, bounded time. It learns, per
 * kind of wait, which of the two brings replies back sooner, and does that.
 *
 * A sleeping thread costs a wake-up per reply: the main thread's `Atomics.notify` is a futex wake,
 * and the kernel (on a virtual machine, the hypervisor too) must bring the worker's CPU back. For
 * one sequential caller that is a large part of a fast round trip (a Redis GET or a query on
 * loopback), and polling removes it when the reply comes within the budget. But a polling worker
 * holds a core: on a machine whose cores are all busy it takes time from the main thread that is
 * producing the reply, and round trips get slower, not faster. Neither is right everywhere, so
 * each kind keeps the typical reply time of both ways (moving averages) and how often a poll
 * caught the reply, polls only while that pays, and tries the other way every
 * {@link EXPLORE_EVERY} waits so that a change of load is noticed.
 */
import { SIGNAL_COUNTER, SIGNAL_SPIN_MICROS } from './bridge-protocol.js';

/** Every this many waits of a kind, the way not preferred now is measured again. */
const EXPLORE_EVERY = 32;
/** Polling must be at least this much quicker than sleeping to be kept (it costs a core while it runs). */
const POLL_MUST_BEAT = 0.95;
/**
 * Polling is kept only while at least this share of polls catch the message: a poll that runs
 * out costs a core for the whole budget and saves nothing (replies slower than the budget, as
 * on a machine whose cores are all busy, measured 0.6x-0.7x with polling on every wait).
 */
const POLLS_MUST_CATCH = 0.5;
/** Weight of the newest wait in a typical reply time. */
const NEWEST_WEIGHT = 1 / 8;
/** Polls between reads of the clock (a read costs more than a poll). */
const POLLS_PER_CLOCK_READ = 16;

/** Typical times (ms) from the start of a wait to the message that ended it, per way of waiting. */
interface KindTimes {
  poll: number | undefined;
  sleep: number | undefined;
  /** The share of recent polls the message ended (a moving average of 1 and 0). */
  caught: number;
  waits: number;
}

/** Waits on the signal word of one worker's channel; one per {@link SyncBridge}. */
export class ReplyWaiter {
  private readonly cells: Int32Array;
  private readonly kinds = new Map<string, KindTimes>();

  constructor(cells: Int32Array) {
    this.cells = cells;
  }

  /**
   * Blocks until the counter differs from `seen` or `ms` passes (Infinity: no limit). `kind` names
   * what is waited for (a channel method): replies of one kind take alike long.
   */
  wait(seen: number, ms: number, kind: string): void {
    const cells = this.cells;
    const budgetMs = Atomics.load(cells, SIGNAL_SPIN_MICROS) / 1000;
    if (budgetMs <= 0 || ms <= 0) {
      Atomics.wait(cells, SIGNAL_COUNTER, seen, ms === Infinity ? undefined : ms);
      return;
    }
    let times = this.kinds.get(kind);
    if (times === undefined) {
      times = { poll: undefined, sleep: undefined, caught: 1, waits: 0 };
      this.kinds.set(kind, times);
    }
    times.waits++;
    const start = performance.now();
    if (this.pollsNext(times)) {
      const until = start + Math.min(budgetMs, ms);
      for (let polls = 1; ; polls++) {
        if (Atomics.load(cells, SIGNAL_COUNTER) !== seen) {
          times.poll = average(times.poll, performance.now() - start);
          times.caught = average(times.caught, 1);
          return;
        }
        if (polls % POLLS_PER_CLOCK_READ === 0 && performance.now() >= until) break;
      }
      Atomics.wait(cells, SIGNAL_COUNTER, seen, ms === Infinity ? undefined : Math.max(0, ms - (performance.now() - start)));
      times.poll = average(times.poll, performance.now() - start);
      times.caught = average(times.caught, 0);
      return;
    }
    Atomics.wait(cells, SIGNAL_COUNTER, seen, ms === Infinity ? undefined : ms);
    times.sleep = average(times.sleep, performance.now() - start);
  }

  /**
   * Whether the next wait of a kind polls first: when polls usually catch the message and bring
   * it sooner than sleeping does, or the other way when it is its turn to be measured.
   */
  private pollsNext(times: KindTimes): boolean {
    if (times.poll === undefined) return true;
    if (times.sleep === undefined) return false;
    const pollIsBetter = times.caught >= POLLS_MUST_CATCH && times.poll < times.sleep * POLL_MUST_BEAT;
    return times.waits % EXPLORE_EVERY === 0 ? !pollIsBetter : pollIsBetter;
  }
}

function average(before: number | undefined, newest: number): number {
  return before === undefined ? newest : before + (newest - before) * NEWEST_WEIGHT;
}
