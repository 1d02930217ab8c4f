/**
 * R4's child process: opens the shared cache, waits for "go", then at once pulls the test app
 * from the registry into it and puts blobs (some with the same digests as the other processes,
 * some its own), streaming them slowly so the writes overlap. As `victim` it also starts a
 * large put that it never finishes: it says "mid-write" half-way and waits to be SIGKILLed.
 * Answers { ok, puts, pulled } or { ok: false, error } over IPC.
 */
import { createHash } from 'node:crypto';
import { openCache } from '@spinel/cache';
import { createRegistryClient, pullArtifact } from '@spinel/oci';
import { blobContent } from './r4-blob-content.js';

const [root = '', repository = '', role = 'writer', index = '0'] = process.argv.slice(2);

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function* slowly(bytes: Buffer, onHalf?: () => void): AsyncGenerator<Uint8Array> {
  const chunk = 64 * 1024;
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    yield bytes.subarray(offset, offset + chunk);
    if (onHalf !== undefined && offset + chunk >= bytes.length / 2) {
      onHalf();
      await new Promise(() => setInterval(() => undefined, 60_000)); // never finishes: killed here
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function main(): Promise<void> {
  const cache = openCache({ root });
  // A message sent before a listener exists is lost: say "ready" once listening, then wait for "go".
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send?.({ ready: true });
  await go;
  const specs = [
    ...['shared-a', 'shared-b', 'shared-c'].map((seed) => ({ seed, size: 3 * 1024 * 1024 })),
    ...[`own-${index}-a`, `own-${index}-b`].map((seed) => ({ seed, size: 1024 * 1024 + Number(index) })),
  ];
  const client = createRegistryClient();
  const jobs: Promise<unknown>[] = [
    pullArtifact({ target: client.repository(repository), reference: 'v1', store: cache, concurrency: 4 }),
    ...specs.map(async ({ seed, size }) => {
      const bytes = blobContent(seed, size);
      const put = await cache.putStream(digestOf(bytes), slowly(bytes), { kind: 'data', size });
      return { digest: put.digest, existed: put.existed };
    }),
  ];
  if (role === 'victim') {
    const bytes = blobContent(`victim-${index}`, 8 * 1024 * 1024);
    jobs.push(cache.putStream(digestOf(bytes), slowly(bytes, () => process.send?.({ midWrite: digestOf(bytes) })), { kind: 'data' }));
  }
  const [pulled, ...puts] = await Promise.all(jobs);
  await client.close();
  process.send?.({ ok: true, pulled: (pulled as { digest: string }).digest, puts });
}

main().catch((err: unknown) => {
  process.send?.({ ok: false, error: String((err as Error).stack ?? err) });
  process.exitCode = 1;
});
