/**
 * A Spin app on disk for the suites: components whose sources are Wasm-headed bytes (enough
 * for packaging and pulling; nothing runs them) and files, as a locked app.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LockedApp } from '@spinel/manifest';

function bytesFor(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset, 0, Math.min(block.length, size - offset));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Writes the app under `dir` and returns its locked app (sources and files as `file://` URLs). */
export async function writeTestApp(dir: string, options: { components: number; wasmBytes: number; files: number; seed?: string }): Promise<LockedApp> {
  const seed = options.seed ?? 'app';
  const components: LockedApp['components'] = [];
  for (let c = 0; c < options.components; c++) {
    const id = `c${c}`;
    const wasm = Buffer.concat([Buffer.from('\0asm\u000d\0\u0001\0'), bytesFor(`${seed}-${id}`, options.wasmBytes)]);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${id}.wasm`), wasm);
    const assets = join(dir, 'assets', id);
    await mkdir(assets, { recursive: true });
    for (let f = 0; f < options.files; f++) await writeFile(join(assets, `file-${f}.bin`), bytesFor(`${seed}-${id}-${f}`, 2000 + f * 50_000));
    components.push({ id, source: { content_type: 'application/wasm', source: pathToFileURL(join(dir, `${id}.wasm`)).href }, files: [{ source: pathToFileURL(assets).href, path: '/' }] });
  }
  return {
    spin_lock_version: 0,
    metadata: { name: seed, trigger: { type: 'http' }, triggers: { http: {} } },
    triggers: components.map((c) => ({ id: `t-${c.id}`, trigger_type: 'http', trigger_config: { component: c.id, route: `/${c.id}/...` } })),
    components,
  } as LockedApp;
}
