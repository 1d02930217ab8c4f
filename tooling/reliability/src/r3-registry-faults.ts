/**
 * R3 — registry faults: an app is pushed to, then pulled from, a token-authenticated
 * registry behind a proxy that drops connections half-way, answers 500 and 429, while tokens
 * expire under the client (issued already expired, and the client's clock moved past their
 * lifetime mid-transfer). A pass means both transfers complete, every blob in the cache
 * hashes to its digest, and the pulled files are byte for byte the pushed ones.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCache, sha256Digest } from '@spinel/cache';
import type { LockedApp } from '@spinel/manifest';
import { createRegistryClient, OCI_REQUEST_CHANNEL, pullApp, pushApp, staticCredentials } from '@spinel/oci';
import type { OciRequestMessage } from '@spinel/oci';
import { startFaultProxy, startRegistry } from '@spinel/test-utils';
import type { BlobFault } from '@spinel/test-utils';
import { count, result } from './suite.js';
import type { Profile, Suite, SuiteResult } from './suite.js';
import { writeTestApp } from './test-app.js';

const PASSWORD = 'r3-registry-password';

export const r3: Suite = {
  id: 'R3',
  title: 'registry faults',
  proves: 'push and pull complete through dropped connections, 500s, 429s and tokens that expire mid-transfer, with every blob verified against its digest and the pulled files identical to the pushed ones',
  async run(profile: Profile): Promise<SuiteResult> {
    const rounds = profile === 'full' ? 4 : 1;
    const problems: string[] = [];
    const registry = await startRegistry({ auth: 'token', users: { testuser: PASSWORD } });
    const dir = await mkdtemp(join(tmpdir(), 'spinel-r3-'));
    const statuses: OciRequestMessage[] = [];
    const listen = (m: unknown): void => void statuses.push(m as OciRequestMessage);
    subscribe(OCI_REQUEST_CHANNEL, listen);
    const totals = { drop: 0, e500: 0, e429: 0, unauthorized: 0, blobs: 0, bytes: 0 };
    try {
      for (let round = 0; round < rounds; round++) {
        const faults: BlobFault[] = round % 2 === 0 ? ['drop', 500, 429] : [429, 'drop', 500, 'drop'];
        const proxy = await startFaultProxy({
          target: registry.host,
          downloadFaults: faults,
          uploadFaults: faults,
          chunkFaults: faults,
          manifestFaults: [500, 429],
        });
        // The client's clock: moved past the token lifetime half-way, so it fetches a new token mid-transfer.
        let skew = 0;
        const client = createRegistryClient({
          credentials: staticCredentials({ [proxy.host]: { kind: 'basic', username: 'testuser', password: PASSWORD } }),
          retry: { retries: 8, minDelayMs: 10, maxDelayMs: 200 },
          upload: { chunkSize: 4 * 1024 * 1024, monolithicMaxBytes: 1024 * 1024 },
          now: () => Date.now() + skew,
        });
        try {
          const app: LockedApp = await writeTestApp(join(dir, `app-${round}`), { components: 3, wasmBytes: round === 0 ? 10 * 1024 * 1024 : 3 * 1024 * 1024, files: 4, seed: `r3-${round}` });
          const target = client.repository(`${proxy.host}/r3/app`);
          const expire = (): void => {
            skew += 3_600_000;
            registry.tokenService?.expireNext(1);
          };
          registry.tokenService?.expireNext(1); // the first token is refused at once
          let done = 0;
          const pushed = await pushApp(app, {
            target,
            tag: `round-${round}`,
            concurrency: 3,
            onProgress: (e) => {
              if (e.phase === 'done' && ++done === 2) expire();
            },
          });
          const cache = openCache({ root: join(dir, `cache-${round}`), fsync: false });
          done = 0;
          registry.tokenService?.expireNext(1);
          const pulled = await pullApp({
            target,
            reference: `round-${round}`,
            store: cache,
            origin: `${proxy.host}/r3/app:round-${round}`,
            workDir: join(dir, `work-${round}`),
            concurrency: 3,
            onProgress: (e) => {
              if (e.phase === 'done' && ++done === 2) expire();
            },
          });
          if (pulled.digest !== pushed.digest) problems.push(`round ${round}: pulled ${pulled.digest}, pushed ${pushed.digest}`);
          const verified = await cache.verify({ remove: false });
          totals.blobs += verified.checked;
          for (const c of verified.corrupt) problems.push(`round ${round}: ${c.name} in the cache: ${c.problem}`);
          for (const layer of pushed.packaged.manifest.layers) totals.bytes += layer.size;
          // The files the guest would read are the pushed files.
          for (const [i, component] of pulled.lockedApp.components.entries()) {
            const original = app.components[i];
            const src = fileURLToPath(original?.files?.[0]?.source ?? '');
            const got = fileURLToPath(component.files?.[0]?.source ?? '');
            for (let f = 0; f < 4; f++) {
              const a = await readFile(join(src, `file-${f}.bin`));
              const b = await readFile(join(got, `file-${f}.bin`)).catch(() => Buffer.alloc(0));
              if (sha256Digest(a) !== sha256Digest(b)) problems.push(`round ${round}: ${component.id}/file-${f}.bin differs after the pull`);
            }
            const wasm = await readFile(fileURLToPath(component.source.source ?? ''));
            if (sha256Digest(wasm) !== component.source.digest) problems.push(`round ${round}: the Wasm of ${component.id} does not match its digest`);
          }
          for (const r of proxy.requests) {
            if (r.outcome === 'drop') totals.drop++;
            else if (r.outcome === 500) totals.e500++;
            else if (r.outcome === 429) totals.e429++;
          }
        } catch (err) {
          problems.push(`round ${round}: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
        } finally {
          await client.close();
          await proxy.stop();
        }
      }
      totals.unauthorized = statuses.filter((s) => s.status === 401).length;
      if (totals.drop + totals.e500 + totals.e429 === 0) problems.push('no fault was injected: nothing was tested');
      if (totals.unauthorized === 0) problems.push('no token was refused: the expiry was not exercised');
      return result(
        this,
        `${rounds} push+pull round(s) (${(totals.bytes / 1048576).toFixed(1)} MiB) completed through ${count(totals.drop)} dropped connections, ${count(totals.e500)} × 500, ${count(totals.e429)} × 429 and ${count(totals.unauthorized)} refused (expired) tokens; ${count(totals.blobs)} cached blobs verified by digest, files identical`,
        problems,
      );
    } finally {
      unsubscribe(OCI_REQUEST_CHANNEL, listen);
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
