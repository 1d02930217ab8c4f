/**
 * Deterministic blob content shared by R4's suite and its worker processes. A module of its own:
 * the worker module runs its main() when imported, so the suite must not import it.
 */
import { createHash } from 'node:crypto';

/** Deterministic content of `size` bytes for a seed. */
export function blobContent(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset, 0, Math.min(block.length, size - offset));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
