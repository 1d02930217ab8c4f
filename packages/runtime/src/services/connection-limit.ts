/**
 * Spin's connection permits (crates/connection-semaphore): each outbound service may have a
 * `max_connections` limit, and `[outbound_networking] max_total_connections` may cap all of
 * them together. A permit is held for as long as the guest keeps its connection open; a guest
 * asking for one past the limit waits (as in Spin) until another is released or its call is
 * cancelled (the request ended or its deadline passed).
 */

/** A held permit; release it exactly once (later calls do nothing). */
export interface Permit {
  release(): void;
}

/** A counting semaphore with a FIFO of waiters. */
export class LimitedSemaphore {
  readonly limit: number;
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Permits in use now. */
  get inUse(): number {
    return this.used;
  }

  tryAcquire(): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.used++;
        resolve();
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(grant);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled while waiting for a connection permit'));
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
    const next = this.waiters.shift();
    if (next !== undefined) next();
  }
}

/** A service's permits: its own limit, then the global one (never held while waiting for the service's). */
export class ConnectionLimit {
  private readonly own: LimitedSemaphore | undefined;
  private readonly global: LimitedSemaphore | undefined;

  constructor(own: number | undefined, global: LimitedSemaphore | undefined) {
    this.own = own === undefined ? undefined : new LimitedSemaphore(own);
    this.global = global;
  }

  /** Connections held now under this service's own limit (undefined when it has none). */
  get inUse(): number | undefined {
    return this.own?.inUse;
  }

  async acquire(signal?: AbortSignal): Promise<Permit> {
    await this.own?.acquire(signal);
    try {
      await this.global?.acquire(signal);
    } catch (err) {
      this.own?.release();
      throw err;
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.global?.release();
        this.own?.release();
      },
    };
  }
}
