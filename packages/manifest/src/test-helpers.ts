import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ManifestAggregateError } from './errors.js';

/** A minimal valid Wasm module header (enough for source checks). */
export const WASM_BYTES = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** Creates a temp directory holding `files` (path → text or bytes). */
export function makeApp(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'spinel-manifest-'));
  for (const [p, content] of Object.entries(files)) {
    const full = join(dir, p);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}

/** Runs `fn` expecting a ManifestAggregateError; returns it. */
export async function expectInvalid(fn: () => unknown): Promise<ManifestAggregateError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ManifestAggregateError) return e;
    throw e;
  }
  throw new Error('expected the manifest to be rejected');
}
