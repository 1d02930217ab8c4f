/**
 * Handles the services give out for open connections. Each belongs to an owner (one worker's
 * channel, and within it one request): a handle is only usable by its owner, and everything an
 * owner holds is released at once when it goes away (the request ended, the worker died).
 */
export class OwnedHandles<T> {
  private next = 1;
  private readonly byOwner = new Map<string, Map<number, T>>();

  /** Stores `value` for `owner` and returns its handle. */
  add(owner: string, value: T): number {
    let handles = this.byOwner.get(owner);
    if (handles === undefined) {
      handles = new Map();
      this.byOwner.set(owner, handles);
    }
    const id = this.next++;
    handles.set(id, value);
    return id;
  }

  get(owner: string, id: number): T | undefined {
    return this.byOwner.get(owner)?.get(id);
  }

  /** Removes one handle (undefined when it is not the owner's). */
  remove(owner: string, id: number): T | undefined {
    const handles = this.byOwner.get(owner);
    const value = handles?.get(id);
    if (value === undefined) return undefined;
    handles?.delete(id);
    if (handles?.size === 0) this.byOwner.delete(owner);
    return value;
  }

  /** Removes and returns everything `owner` holds. */
  removeOwner(owner: string): T[] {
    const handles = this.byOwner.get(owner);
    this.byOwner.delete(owner);
    return handles === undefined ? [] : [...handles.values()];
  }

  /** Removes and returns everything every owner holds. */
  removeAll(): T[] {
    const all = [...this.byOwner.values()].flatMap((h) => [...h.values()]);
    this.byOwner.clear();
    return all;
  }

  /** Handles held now, over every owner. */
  get size(): number {
    let n = 0;
    for (const h of this.byOwner.values()) n += h.size;
    return n;
  }
}
