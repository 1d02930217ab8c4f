/**
 * The shape jco's generated glue expects for the `err` side of a WIT `result`: a thrown object with an
 * own `payload` property. Anything thrown that is an `Error` instead becomes a trap.
 */
export interface ResultFailure<E> {
  readonly payload: E;
}

/** Builds the throwable for a WIT `result` error (no stack capture: these are ordinary outcomes). */
export function failure<E>(payload: E): ResultFailure<E> {
  return { payload };
}

/** A WIT `result<T, E>` value passed into host functions by the glue. */
export type WitResult<T, E> = { tag: 'ok'; val: T } | { tag: 'err'; val: E };
