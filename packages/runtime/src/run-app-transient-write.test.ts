// runApp's allowTransientWrite (Spin's `spin up --allow-transient-write`), end to end: a
// componentize-js guest writes to its files mount through wasi:filesystem and reads it back; the
// writes land in copies made for the run, never in the app's files, and never outside the mount.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '@spinel/cache';
import { buildFilesGuest } from '@spinel/test-utils';
import { runApp, type RunningApp } from './run-app.js';
import { testApp } from '../test/test-app.js';

let dir: string;
let cache: Cache;
let guest: string;
let assets: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spinel-transient-write-'));
  cache = openCache({ root: join(dir, 'cache') });
  guest = await buildFilesGuest();
  assets = join(dir, 'app', 'assets');
  await mkdir(join(assets, 'sub'), { recursive: true });
  await writeFile(join(assets, 'seed.txt'), 'seed');
  await writeFile(join(assets, 'sub', 'deep.txt'), 'deep');
  await writeFile(join(dir, 'app', 'outside.txt'), 'outside the mount');
  // A link inside the mount to a file inside it, and one leading out of it.
  await symlink(join(assets, 'seed.txt'), join(assets, 'seed-link'));
  await symlink(join(dir, 'app', 'outside.txt'), join(assets, 'way-out'));
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(allowTransientWrite: boolean): Promise<RunningApp> {
  const app = testApp([{ id: 'files', path: guest, files: [{ source: pathToFileURL(assets).href, path: '/' }] }]);
  return runApp({ app, cache, listen: '127.0.0.1:0', workers: 1, allowTransientWrite });
}

async function op(running: RunningApp, query: Record<string, string>): Promise<unknown> {
  const res = await fetch(`${running.baseUrl}/files?${new URLSearchParams(query).toString()}`);
  expect(res.status).toBe(200);
  return res.json();
}

/** Every file below `root` with its content (links as `-> target`). */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile()) out[path] = await readFile(path, 'utf8');
    else if (entry.isSymbolicLink()) out[path] = 'link';
    else out[path] = 'dir';
  }
  return out;
}

describe('allowTransientWrite', () => {
  it('without it, a guest\'s write fails with read-only and its reads work', async () => {
    const running = await start(false);
    try {
      expect(await op(running, { op: 'write', path: 'new.txt', text: 'x' })).toEqual({ err: 'read-only' });
      expect(await op(running, { op: 'mkdir', path: 'd' })).toEqual({ err: 'read-only' });
      expect(await op(running, { op: 'read', path: 'seed.txt' })).toEqual({ ok: 'seed' });
    } finally {
      await running.close();
    }
  }, 300_000);

  it('with it, a guest writes and reads back; later instances of the run see it; the app\'s files never change', async () => {
    const before = await snapshot(join(dir, 'app'));
    const running = await start(true);
    try {
      expect(await op(running, { op: 'write', path: 'new.txt', text: 'written by the guest' })).toEqual({ ok: '20' });
      // Each request is a fresh instance: the file is the run's, as Spin's copies are.
      expect(await op(running, { op: 'read', path: 'new.txt' })).toEqual({ ok: 'written by the guest' });
      expect(await op(running, { op: 'write', path: 'seed.txt', text: 'changed' })).toEqual({ ok: '7' });
      expect(await op(running, { op: 'append', path: 'seed.txt', text: '+more' })).toEqual({ ok: 'appended' });
      expect(await op(running, { op: 'read', path: 'seed.txt' })).toEqual({ ok: 'changed+more' });
      // A link inside the mount was copied as its file; the one leading out was not copied.
      expect(await op(running, { op: 'read', path: 'seed-link' })).toEqual({ ok: 'seed' });
      expect(await op(running, { op: 'read', path: 'way-out' })).toEqual({ err: 'no-entry' });
      expect(await op(running, { op: 'mkdir', path: 'made' })).toEqual({ ok: 'made' });
      expect(await op(running, { op: 'rename', path: 'sub/deep.txt', to: 'made/deep.txt' })).toEqual({ ok: 'renamed' });
      expect(await op(running, { op: 'read', path: 'made/deep.txt' })).toEqual({ ok: 'deep' });
      expect(await op(running, { op: 'unlink', path: 'made/deep.txt' })).toEqual({ ok: 'removed' });
      expect(await snapshot(join(dir, 'app'))).toEqual(before);
    } finally {
      await running.close();
    }
    // Nothing outlives the run: the next one starts from the app's files again.
    const next = await start(true);
    try {
      expect(await op(next, { op: 'read', path: 'new.txt' })).toEqual({ err: 'no-entry' });
      expect(await op(next, { op: 'read', path: 'seed.txt' })).toEqual({ ok: 'seed' });
    } finally {
      await next.close();
    }
    expect(await snapshot(join(dir, 'app'))).toEqual(before);
  }, 300_000);

  it('a guest cannot write outside its mount', async () => {
    const before = await snapshot(dir);
    const running = await start(true);
    try {
      for (const path of ['../escaped.txt', 'sub/../../escaped.txt', '/escaped.txt', '../../../../../../../tmp/escaped.txt']) {
        expect(await op(running, { op: 'write', path, text: 'x' }), path).toEqual({ err: 'not-permitted' });
      }
      expect(await op(running, { op: 'mkdir', path: '../made' })).toEqual({ err: 'not-permitted' });
      expect(await op(running, { op: 'rename', path: 'seed.txt', to: '../seed.txt' })).toEqual({ err: 'not-permitted' });
      expect(await op(running, { op: 'unlink', path: '../outside.txt' })).toEqual({ err: 'not-permitted' });
    } finally {
      await running.close();
    }
    const after = await snapshot(dir);
    // The cache may have gained the transpiled guest; nothing else changed anywhere around the app.
    const notCache = (s: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith(join(dir, 'cache'))));
    expect(notCache(after)).toEqual(notCache(before));
  }, 300_000);
});
