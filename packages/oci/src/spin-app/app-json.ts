import type { LockedAppJson } from './types.js';

/**
 * The JSON shape of a locked app, from either that shape or `@spinel/manifest`'s model
 * (whose `inline` content is bytes): inline bytes become unpadded base64, as Spin writes.
 */
export function toLockedAppJson(app: object): LockedAppJson {
  const text = JSON.stringify(app, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64').replace(/=+$/, '');
    // JSON.stringify turns a Buffer into {type, data} before the replacer sees the Uint8Array.
    if (isSerialisedBuffer(value)) return Buffer.from(value.data).toString('base64').replace(/=+$/, '');
    return value;
  });
  const parsed = JSON.parse(text) as LockedAppJson;
  if (typeof parsed.spin_lock_version !== 'number') {
    // Spin derives the version: 1 when the app carries anything older hosts must refuse.
    const mustUnderstand = parsed['must_understand'];
    const hostRequirements = parsed['host_requirements'];
    const needsV1 =
      (Array.isArray(mustUnderstand) && mustUnderstand.length > 0) ||
      (hostRequirements !== null && typeof hostRequirements === 'object' && Object.keys(hostRequirements).length > 0);
    parsed.spin_lock_version = needsV1 ? 1 : 0;
  }
  return parsed;
}

function isSerialisedBuffer(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}
