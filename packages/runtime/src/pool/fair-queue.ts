/**
 * Requests waiting for a worker, one queue per component, served in turn: a flood of requests to
 * one component waits behind its own queue and never in front of another component's requests.
 */

/** What the queue needs of a waiting request. */
export interface Queued {
  readonly componentId: string;
  /** `performance.now()` when it was queued. */
  readonly queuedAt: number;
}

/** Per-component FIFO queues taken round-robin. */
export class FairQueue<T extends Queued> {
  private readonly queues = new Map<string, T[]>();
  /** Components with waiting requests, in the order they are served; the first goes next. */
  private readonly order: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    let queue = this.queues.get(item.componentId);
    if (queue === undefined) {
      queue = [];
      this.queues.set(item.componentId, queue);
    }
    if (queue.length === 0) this.order.push(item.componentId);
    queue.push(item);
    this.count++;
  }

  /**
   * Takes the oldest request of the next component in turn that `admit` accepts (the pool refuses
   * a component already holding its share of the workers); that component then goes last.
   */
  take(admit: (componentId: string) => boolean): T | undefined {
    for (let i = 0; i < this.order.length; i++) {
      const componentId = this.order[i] as string;
      if (!admit(componentId)) continue;
      const queue = this.queues.get(componentId);
      const item = queue?.shift();
      if (queue === undefined || item === undefined) continue;
      this.count--;
      this.order.splice(i, 1);
      if (queue.length > 0) this.order.push(componentId);
      return item;
    }
    return undefined;
  }

  /** Removes a request that no longer waits (its client went away). */
  remove(item: T): boolean {
    const queue = this.queues.get(item.componentId);
    const at = queue?.indexOf(item) ?? -1;
    if (queue === undefined || at === -1) return false;
    queue.splice(at, 1);
    this.count--;
    if (queue.length === 0) this.order.splice(this.order.indexOf(item.componentId), 1);
    return true;
  }

  /** Removes and returns the requests queued at or before `before` (oldest first per component). */
  expire(before: number): T[] {
    const out: T[] = [];
    for (const componentId of [...this.order]) {
      const queue = this.queues.get(componentId) ?? [];
      while (queue.length > 0 && (queue[0] as T).queuedAt <= before) {
        out.push(queue.shift() as T);
        this.count--;
      }
      if (queue.length === 0) this.order.splice(this.order.indexOf(componentId), 1);
    }
    return out;
  }

  /** Components with waiting requests. */
  waiting(): readonly string[] {
    return this.order;
  }

  /** Removes and returns everything. */
  drain(): T[] {
    const out: T[] = [];
    for (const queue of this.queues.values()) out.push(...queue.splice(0));
    this.order.length = 0;
    this.count = 0;
    return out;
  }
}
