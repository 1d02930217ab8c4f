import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, readdir, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import type { LockedComponent } from '@spinel/manifest';
import { watComponent } from '@spinel/test-utils';
import { ComponentLoadError } from '../errors.js';
import { loadTranspiled, readComponentSource, transpileCacheKey } from './component-source.js';
import { loadResettable, readResettable } from './resettable-cache.js';

let dir: string;
let cache: Cache;
let wasm: Buffer;
let digest: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-source-'));
  cache = openCache({ root: join(dir, 'cache') });
  wasm = await readFile(await watComponent('hello'));
  digest = `sha256:${createHash('sha256').update(wasm).digest('hex')}`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Stores the component as a pulled app's blob and returns its locked component and blob path. */
async function pulled(options: { withDigest?: boolean } = {}): Promise<{ component: LockedComponent; path: string }> {
  await cache.remove(digest);
  const { path } = await cache.putBytes(digest, wasm, { kind: 'wasm' });
  const source = { content_type: 'application/wasm', source: pathToFileURL(path).href, ...(options.withDigest === false ? {} : { digest }) };
  return { component: { id: 'web', source }, path };
}

/** Overwrites one byte in place: same size, same inode, same mtime granularity an attacker would keep. */
async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, at);
    one[0] = (one[0] as number) ^ 0x01;
    await handle.write(one, 0, 1, at);
  } finally {
    await handle.close();
  }
}

async function refusal(promise: Promise<unknown>): Promise<ComponentLoadError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ComponentLoadError);
  return err as ComponentLoadError;
}

describe('a component source from the cache is checked before it runs', () => {
  it('reads an intact blob and gives back exactly its bytes', async () => {
    const { component } = await pulled();
    expect(Buffer.from(await readComponentSource(component, { cache })).equals(wasm)).toBe(true);
  });

  it('refuses a same-size byte flip with RUNTIME_COMPONENT_INTEGRITY and removes the blob so a pull fetches it again', async () => {
    const { component, path } = await pulled();
    await flipByte(path, Math.floor(wasm.byteLength / 2));
    const err = await refusal(readComponentSource(component, { cache }));
    expect(err.code).toBe('RUNTIME_COMPONENT_INTEGRITY');
    expect(err.componentId).toBe('web');
    expect(err.message).toContain(digest);
    expect(err.message).toContain('pull or lock the app again');
    expect(existsSync(path)).toBe(false);
    expect(await cache.has(digest)).toBe(false);
  });

  it('checks a cache blob by the digest it is stored under when the locked app names none', async () => {
    const { component, path } = await pulled({ withDigest: false });
    await flipByte(path, 8);
    expect((await refusal(readComponentSource(component, { cache }))).code).toBe('RUNTIME_COMPONENT_INTEGRITY');
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a truncated blob', async () => {
    const { component, path } = await pulled();
    await truncate(path, wasm.byteLength - 1);
    expect((await refusal(readComponentSource(component, { cache }))).code).toBe('RUNTIME_COMPONENT_INTEGRITY');
  });

  it('refuses a symbolic link swapped in for a blob, even one to a file with the right content', async () => {
    const { component, path } = await pulled();
    const elsewhere = join(dir, 'elsewhere.wasm');
    await copyFile(path, elsewhere);
    await unlink(path);
    await symlink(elsewhere, path);
    const err = await refusal(readComponentSource(component, { cache }));
    expect(err.code).toBe('RUNTIME_COMPONENT_INTEGRITY');
    expect(err.message).toContain('symbolic link');
    expect(() => lstatSync(path)).toThrow();
    expect(existsSync(elsewhere)).toBe(true);
  });

  it('refuses a local file that does not match the digest the locked app records (a URL source once downloaded)', async () => {
    const local = join(dir, 'local.wasm');
    await writeFile(local, wasm);
    await flipByte(local, 9);
    const component: LockedComponent = { id: 'web', source: { content_type: 'application/wasm', source: pathToFileURL(local).href, digest } };
    const err = await refusal(readComponentSource(component, { cache }));
    expect(err.code).toBe('RUNTIME_COMPONENT_INTEGRITY');
    // Not a cache blob: the user's file is left alone.
    expect(existsSync(local)).toBe(true);
  });

  it('refuses a digest it cannot check rather than running unchecked bytes', async () => {
    const local = join(dir, 'other-algo.wasm');
    await writeFile(local, wasm);
    const component: LockedComponent = { id: 'web', source: { content_type: 'application/wasm', source: pathToFileURL(local).href, digest: 'sha512:00' } };
    expect((await refusal(readComponentSource(component))).code).toBe('RUNTIME_COMPONENT_INTEGRITY');
  });
});

describe('a component source that is not a regular file of bounded size', () => {
  const at = (path: string): LockedComponent => ({ id: 'web', source: { content_type: 'application/wasm', source: pathToFileURL(path).href } });

  it('refuses /dev/zero before reading it', async () => {
    const err = await refusal(readComponentSource(at('/dev/zero')));
    expect(err.code).toBe('RUNTIME_COMPONENT_SOURCE');
    expect(err.message).toContain('not a regular file');
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe.wasm');
    execFileSync('mkfifo', [fifo]);
    const err = await refusal(readComponentSource(at(fifo)));
    expect(err.code).toBe('RUNTIME_COMPONENT_SOURCE');
    expect(err.message).toContain('not a regular file');
  });

  it('refuses a file over maxSourceBytes, naming the limit and the flag', async () => {
    const local = join(dir, 'big.wasm');
    await writeFile(local, wasm);
    const err = await refusal(readComponentSource(at(local), { maxSourceBytes: wasm.byteLength - 1 }));
    expect(err.code).toBe('RUNTIME_COMPONENT_SOURCE');
    expect(err.message).toContain(`limit of ${wasm.byteLength - 1} bytes`);
    expect(err.message).toContain('--max-source-size');
    expect(Buffer.from(await readComponentSource(at(local), { maxSourceBytes: wasm.byteLength })).equals(wasm)).toBe(true);
  });
});

describe('the transpile cache is checked before its output runs', () => {
  async function entryDir(): Promise<string> {
    return cache.derivedPath(await transpileCacheKey(digest.slice('sha256:'.length)));
  }
  const glueText = (url: string): string => Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').toString('utf8');

  it('hands workers the verified glue text and core modules; a same-size flip in a core module is transpiled again', async () => {
    const first = await loadTranspiled(wasm, cache);
    expect(first.glueUrl.startsWith('data:text/javascript;base64,')).toBe(true);
    const path = await entryDir();
    expect(glueText(first.glueUrl)).toBe(await readFile(join(path, 'component.mjs'), 'utf8'));
    const core = (await readdir(path)).find((n) => n.endsWith('.wasm')) as string;
    await flipByte(join(path, core), 20);
    const again = await loadTranspiled(wasm, cache);
    expect(again.modules.map(([n, b]) => [n, Buffer.from(b).toString('base64')])).toEqual(first.modules.map(([n, b]) => [n, Buffer.from(b).toString('base64')]));
    // The entry on disk is intact again.
    expect((await readFile(join(path, core))).equals(Buffer.from(first.modules.find(([n]) => n === core)?.[1] as Uint8Array))).toBe(true);
  }, 120_000);

  it('a changed glue, a truncated module or a link swapped in are each transpiled again, never run', async () => {
    const good = await loadTranspiled(wasm, cache);
    const path = await entryDir();
    const core = (await readdir(path)).find((n) => n.endsWith('.wasm')) as string;
    const attacks: Array<() => Promise<void>> = [
      () => flipByte(join(path, 'component.mjs'), 100),
      () => truncate(join(path, core), 10),
      async () => {
        const copy = join(dir, 'glue-copy.mjs');
        await copyFile(join(path, 'component.mjs'), copy);
        await unlink(join(path, 'component.mjs'));
        await symlink(copy, join(path, 'component.mjs'));
      },
      () => writeFile(join(path, 'extra.wasm'), 'not recorded'),
    ];
    for (const attack of attacks) {
      await attack();
      const again = await loadTranspiled(wasm, cache);
      expect(glueText(again.glueUrl)).toBe(glueText(good.glueUrl));
      expect(again.modules.map(([n]) => n)).toEqual(good.modules.map(([n]) => n));
      expect(lstatSync(join(path, 'component.mjs')).isFile()).toBe(true);
    }
  }, 300_000);

  it('the resettable form is read back through its record too: a flipped rewritten module or glue is made again', async () => {
    const transpiled = await loadTranspiled(wasm, cache);
    const good = await loadResettable(transpiled, cache);
    const entry = join(cache.root, 'derived', (await readdir(join(cache.root, 'derived'))).find((n) => n.startsWith('spinel-reset-')) as string);
    const core = good.transpiled.modules[0]?.[0] as string;
    for (const file of [core, 'component.mjs']) {
      await flipByte(join(entry, file), 30);
      const again = await loadResettable(transpiled, cache);
      expect(glueText(again.transpiled.glueUrl)).toBe(glueText(good.transpiled.glueUrl));
      expect(again.transpiled.modules.map(([n, b]) => [n, Buffer.from(b).toString('base64')])).toEqual(good.transpiled.modules.map(([n, b]) => [n, Buffer.from(b).toString('base64')]));
    }
  }, 300_000);

  it('a warm start reads the resettable form alone, verified: without the transpile output, and never a changed entry', async () => {
    const transpiled = await loadTranspiled(wasm, cache);
    const good = await loadResettable(transpiled, cache);
    const bytesOf = (form: { modules: Array<[string, Uint8Array]> }): string[][] => form.modules.map(([n, b]) => [n, Buffer.from(b).toString('base64')]);
    // What runs does not depend on the transpile output once the resettable form is made.
    await rm(await entryDir(), { recursive: true, force: true });
    const warm = await readResettable(transpiled.key, cache);
    expect(warm).toBeDefined();
    expect(glueText(warm?.transpiled.glueUrl as string)).toBe(glueText(good.transpiled.glueUrl));
    expect(bytesOf(warm?.transpiled as { modules: Array<[string, Uint8Array]> })).toEqual(bytesOf(good.transpiled));
    expect(warm?.reset).toEqual(good.reset);
    // A flipped byte in any file of the entry: nothing is handed out, and the entry is gone (made again on the next prepare).
    const entry = join(cache.root, 'derived', (await readdir(join(cache.root, 'derived'))).find((n) => n.startsWith('spinel-reset-')) as string);
    for (const file of [good.transpiled.modules[0]?.[0] as string, 'component.mjs', 'reset.json']) {
      await loadResettable(await loadTranspiled(wasm, cache), cache);
      await flipByte(join(entry, file), 5);
      expect(await readResettable(transpiled.key, cache)).toBeUndefined();
      expect(existsSync(entry)).toBe(false);
    }
  }, 300_000);
});
