/** A service call's result as it crosses the channel: the value, or the interface's error value. */
export type Outcome<T, E> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/** A message safe to show: an Error's message, never an object dump that could carry options. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
