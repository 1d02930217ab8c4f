// Child process for the multi-process tests: puts deterministic content into a cache.
// Usage: node --import tsx test-put-worker.ts <root> <mode> <seed:size>...
//   mode "put":  prints "ready", waits for "go" on stdin, puts every item at once, prints the results as JSON.
//   mode "derived": like put, but each spec is a derived-artifact key built with putDerived.
//   mode "hang": starts putting the first item, prints "started" after 1 MiB, then never finishes.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openCache } from './cache.js';

export function content(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset, 0, Math.min(block.length, size - offset));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

async function* slowly(bytes: Buffer, chunk: number, onProgress?: (sent: number) => void): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    yield bytes.subarray(offset, offset + chunk);
    onProgress?.(offset + chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function main(): Promise<void> {
  const [root, mode, ...specs] = process.argv.slice(2);
  if (root === undefined || mode === undefined) throw new Error('usage: test-put-worker <root> <mode> <seed:size>...');
  const cache = openCache({ root });
  const items = (mode === 'derived' ? [] : specs).map((spec) => {
    const [seed, size] = spec.split(':');
    const bytes = content(seed ?? '', Number(size));
    return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
  });
  if (mode === 'hang') {
    const item = items[0];
    if (item === undefined) throw new Error('hang needs one item');
    let told = false;
    const endless = (async function* () {
      yield* slowly(item.bytes.subarray(0, item.bytes.length - 1), 64 * 1024, (sent) => {
        if (!told && sent >= 1.5 * 1024 * 1024) {
          told = true;
          process.stdout.write('started\n');
        }
      });
      await new Promise(() => setInterval(() => undefined, 1000));
    })();
    await cache.putStream(item.digest, endless);
    return;
  }
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  if (mode === 'derived') {
    // specs are derived keys; each builder writes a few files slowly, naming itself in them.
    const results = await Promise.all(
      specs.map((key) =>
        cache.putDerived(key, async (dir) => {
          for (let i = 0; i < 5; i += 1) {
            await writeFile(join(dir, `part-${i}.txt`), `${process.pid}\n`);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }),
      ),
    );
    process.stdout.write(`${JSON.stringify(results)}\n`);
    process.stdin.destroy();
    return;
  }
  const results = await Promise.all(items.map((item) => cache.putStream(item.digest, slowly(item.bytes, 64 * 1024))));
  process.stdout.write(`${JSON.stringify(results)}\n`);
  process.stdin.destroy();
}

if (process.argv[1]?.endsWith('test-put-worker.ts') === true) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
